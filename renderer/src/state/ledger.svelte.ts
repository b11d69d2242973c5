/** The entries and balances the Ledger screen shows. To be completed with paging and filters. */
import type { BalanceView, BlockSummary, EntryView } from '../../../core/api/types.ts'
import type { ApiClient } from '../api/client.ts'

export class LedgerState {
  readonly #api: ApiClient
  entries = $state<EntryView[]>([])
  balances = $state<readonly BalanceView[]>([])
  error = $state<string | null>(null)

  constructor(api: ApiClient) {
    this.#api = api
  }

  async refresh(): Promise<void> {
    const r = await this.#api.entries({ limit: 100 })
    if (r.ok) {
      this.entries = [...r.value.entries]
      this.error = null
    } else this.error = r.error
  }

  onEntry(entry: EntryView): void {
    const i = this.entries.findIndex((e) => e.id === entry.id)
    if (i >= 0) this.entries[i] = entry
    else this.entries.unshift(entry)
  }

  onBlock(_block: BlockSummary): void {}
}
