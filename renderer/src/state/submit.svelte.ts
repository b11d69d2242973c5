/** The Submit form: its fields, their checks, and what became of what was sent. To be completed. */
import type { EntryView } from '../../../core/api/types.ts'
import type { ApiClient } from '../api/client.ts'
import type { LedgerState } from './ledger.svelte.ts'

export class SubmitState {
  readonly #api: ApiClient
  readonly #ledger: LedgerState

  constructor(api: ApiClient, ledger: LedgerState) {
    this.#api = api
    this.#ledger = ledger
  }

  onEntry(_entry: EntryView): void {
    void this.#api
    void this.#ledger
  }
}
