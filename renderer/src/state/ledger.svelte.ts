/**
 * The Ledger screen: one page of entries as the node filters them, kept live by entry events,
 * and the balances. Paging is by the node's cursor (a stack of them for Newer), so only the page
 * on show is ever asked, however long the ledger grows.
 */
import type {
  BalanceView,
  BlockSummary,
  EntryView,
  MemberView,
  StatusView,
} from '../../../core/api/types.ts'
import type { ApiClient } from '../api/client.ts'
import { entriesCsv } from '../csv.ts'
import { collectEntries, EXPORT_CAP, exportFileName } from './ledger-export.ts'
import {
  decimalsOf,
  FreshCounter,
  filterQuery,
  isFiltered,
  type LedgerFilter,
  laterStatus,
  NO_FILTER,
  placeEntry,
} from './ledger-query.ts'

export const PAGE_SIZES = [50, 100] as const
export type PageSize = (typeof PAGE_SIZES)[number]

/** Typing in a filter waits this long for the next key before asking the node. */
const DEBOUNCE_MS = 250
/** Balances are read again after a block, at most this often. */
const BALANCES_EVERY_MS = 1_000

interface PageMark {
  /** The cursor the page was asked with; undefined for the newest. */
  readonly before: number | undefined
  /** Rows on the pages above it, for "entries 51–100". */
  readonly offset: number
}

export class LedgerState {
  readonly #api: ApiClient
  /** What the form shows; `#applied` is what the page on show was asked with. */
  filter = $state<LedgerFilter>({ ...NO_FILTER })
  #applied = $state<LedgerFilter>({ ...NO_FILTER })
  pageSize = $state<PageSize>(50)
  // Raw: rows are replaced whole, never edited in place, so a deep proxy of each would be waste.
  entries = $state.raw<readonly EntryView[]>([])
  /** Cursors of the pages above and this one: Newer pops, Older pushes. */
  #stack = $state<PageMark[]>([{ before: undefined, offset: 0 }])
  next = $state<number | null>(null)
  loading = $state(false)
  /** True once a page has been read: the empty state waits for it. */
  loaded = $state(false)
  error = $state<string | null>(null)
  /** Entries that arrived for this view while rows could not move; shown with a button. */
  readonly #fresh = new FreshCounter()
  freshCount = $state(0)

  balances = $state.raw<readonly BalanceView[]>([])
  balancesError = $state<string | null>(null)

  exporting = $state(false)
  exportText = $state('')
  #exportCancel = false

  #newestReceived = 0
  #request = 0
  /** Events that came while a page was on its way, placed once it is in. */
  #buffered: EntryView[] = []
  #debounce: ReturnType<typeof setTimeout> | null = null
  #balancesTimer: ReturnType<typeof setTimeout> | null = null
  #balancesAt = 0

  constructor(api: ApiClient) {
    this.#api = api
  }

  readonly firstPage = $derived(this.#stack.length === 1)
  readonly offset = $derived(this.#stack[this.#stack.length - 1]?.offset ?? 0)
  /** The page on show was asked with a filter (the empty state words it differently). */
  readonly filtered = $derived(isFiltered(this.#applied))

  async refresh(): Promise<void> {
    await Promise.all([this.#load(this.#applied, this.#stack), this.refreshBalances()])
  }

  /** A filter field changed: ask again from the newest page, after the typing pauses. */
  setFilter(patch: Partial<LedgerFilter>, immediate = false): void {
    this.filter = { ...this.filter, ...patch }
    if (this.#debounce !== null) clearTimeout(this.#debounce)
    this.#debounce = null
    if (immediate) {
      void this.#restart()
      return
    }
    this.#debounce = setTimeout(() => {
      this.#debounce = null
      void this.#restart()
    }, DEBOUNCE_MS)
  }

  clearFilters(): void {
    this.setFilter({ ...NO_FILTER }, true)
  }

  setPageSize(size: PageSize): void {
    this.pageSize = size
    void this.#restart()
  }

  older(): void {
    if (this.next === null || this.loading) return
    const mark = { before: this.next, offset: this.offset + this.entries.length }
    // The cursor belongs to the filter of the page on show, not to one still being typed.
    void this.#load(this.#applied, [...this.#stack, mark])
  }

  newer(): void {
    if (this.#stack.length <= 1 || this.loading) return
    void this.#load(this.#applied, this.#stack.slice(0, -1))
  }

  /** "N new entries — show": back to the newest page, where they are. */
  showNewest(): void {
    void this.#restart()
  }

  onEntry(entry: EntryView): void {
    if (this.loading) {
      this.#buffered.push(entry)
      return
    }
    this.#place(entry)
  }

  onBlock(_block: BlockSummary): void {
    this.#scheduleBalances()
  }

  async refreshBalances(): Promise<void> {
    this.#balancesAt = Date.now()
    const r = await this.#api.balances()
    if (r.ok) {
      this.balances = [...r.value].sort(
        (a, b) => a.account.localeCompare(b.account) || a.asset.localeCompare(b.asset),
      )
      this.balancesError = null
    } else this.balancesError = r.error
  }

  /** Every entry of the current filters (not only this page), newest first, as a CSV file. */
  async exportCsv(status: StatusView | null, members: readonly MemberView[]): Promise<void> {
    if (this.exporting) return
    this.exporting = true
    this.#exportCancel = false
    this.exportText = 'Exporting… 0 entries'
    const query = filterQuery(this.#applied)
    const fmt = (n: number) => n.toLocaleString('en-US')
    const got = await collectEntries(
      (before, limit) =>
        this.#api.entries(before === undefined ? { ...query, limit } : { ...query, before, limit }),
      {
        onProgress: (n) => {
          this.exportText = `Exporting… ${fmt(n)} entries`
        },
        cancelled: () => this.#exportCancel,
      },
    )
    this.exporting = false
    if (!got.ok) {
      this.exportText = `Export failed after ${fmt(got.got)} entries: ${got.error}`
      return
    }
    const csv = entriesCsv(got.entries, {
      decimalsOf: (asset) => decimalsOf(asset, status),
      members,
    })
    download(exportFileName(status?.ledgerName ?? 'ledger', new Date()), csv)
    this.exportText = got.truncated
      ? `Exported the newest ${fmt(EXPORT_CAP)} entries (the most one file holds).`
      : `Exported ${fmt(got.entries.length)} entries.`
  }

  cancelExport(): void {
    this.#exportCancel = true
  }

  #restart(): Promise<void> {
    return this.#load({ ...this.filter }, [{ before: undefined, offset: 0 }])
  }

  /**
   * Shows the page at the top of `stack`. The stack becomes the one on show only once the page
   * has come: a page that fails leaves the one on show, its position and its paging as they were.
   */
  async #load(filter: LedgerFilter, stack: PageMark[]): Promise<void> {
    const mark = stack[stack.length - 1] ?? { before: undefined, offset: 0 }
    const id = ++this.#request
    this.loading = true
    this.#buffered = []
    const query = { ...filterQuery(filter), limit: this.pageSize }
    const r = await this.#api.entries(
      mark.before === undefined ? query : { ...query, before: mark.before },
    )
    // A later request (a key typed since) owns the page now.
    if (id !== this.#request) return
    this.loading = false
    if (!r.ok) {
      this.error = r.error
      return
    }
    this.error = null
    this.loaded = true
    this.#stack = stack
    const filterChanged = JSON.stringify(filter) !== JSON.stringify(this.#applied)
    this.#applied = filter
    this.entries = r.value.entries
    this.next = r.value.next
    if (mark.before === undefined || filterChanged) this.#clearFresh()
    if (mark.before === undefined) {
      this.#newestReceived = this.entries.reduce((m, e) => Math.max(m, e.received), 0)
    }
    const buffered = this.#buffered
    this.#buffered = []
    for (const e of buffered) this.#place(e)
  }

  #place(entry: EntryView): void {
    const at = this.entries.findIndex((e) => e.id === entry.id)
    const placement = placeEntry(entry, {
      shown: () => at >= 0,
      firstPage: this.firstPage,
      full: this.entries.length >= this.pageSize * 2,
      filter: this.#applied,
      newestReceived: this.#newestReceived,
    })
    switch (placement) {
      case 'update': {
        const current = this.entries[at]
        if (current !== undefined) this.entries = this.entries.with(at, laterStatus(current, entry))
        return
      }
      case 'insert':
        // The page grows at the top (its Older cursor stays right), up to twice its size; then
        // new entries wait behind the button, which reads the newest page again.
        this.#newestReceived = Math.max(this.#newestReceived, entry.received)
        this.entries = [entry, ...this.entries]
        return
      case 'announce':
        this.#newestReceived = Math.max(this.#newestReceived, entry.received)
        if (this.#fresh.add(entry.id)) this.freshCount = this.#fresh.count
        return
      case 'ignore':
        return
    }
  }

  #clearFresh(): void {
    this.#fresh.clear()
    this.freshCount = 0
  }

  #scheduleBalances(): void {
    if (this.#balancesTimer !== null) return
    const wait = Math.max(0, this.#balancesAt + BALANCES_EVERY_MS - Date.now())
    this.#balancesTimer = setTimeout(() => {
      this.#balancesTimer = null
      void this.refreshBalances()
    }, wait)
  }
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.style.display = 'none'
  document.body.append(a)
  a.click()
  a.remove()
  // The click has started the download; the URL only has to outlive this task.
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
