/** The consensus view: the height being decided, votes, recent rounds. To be completed. */
import type { BlockSummary, RoundsView, Step } from '../../../core/api/types.ts'
import type { ApiClient } from '../api/client.ts'

export class RoundsState {
  readonly #api: ApiClient
  view = $state<RoundsView | null>(null)

  constructor(api: ApiClient) {
    this.#api = api
  }

  async refresh(): Promise<void> {
    const r = await this.#api.rounds()
    if (r.ok) this.view = r.value
  }

  onRound(_e: { height: number; round: number; step: Step; proposer: string }): void {}

  onBlock(_block: BlockSummary): void {}
}
