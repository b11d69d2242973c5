/**
 * What the Ledger screen asks the node, and how a live entry event fits the page on show. The
 * node filters and pages (a ledger of 100,000 entries is never loaded whole); these functions
 * only decide where an event goes, so the rows someone is reading never move under them.
 */
import type { EntryStatus, EntryView, MemberView, StatusView } from '../../../core/api/types.ts'

export interface LedgerFilter {
  /** Matches the from or the to account, exactly. */
  readonly account: string
  /** The asset code, exactly. */
  readonly asset: string
  readonly status: EntryStatus | ''
  /** A case-insensitive substring of memo, accounts, asset or id. */
  readonly q: string
}

export const NO_FILTER: LedgerFilter = { account: '', asset: '', status: '', q: '' }
export const STATUSES: readonly EntryStatus[] = ['submitted', 'relayed', 'committed', 'rejected']

/** The filter as `GET /api/entries` takes it: empty fields left out. */
export function filterQuery(f: LedgerFilter): {
  account?: string
  asset?: string
  status?: EntryStatus
  q?: string
} {
  const out: { account?: string; asset?: string; status?: EntryStatus; q?: string } = {}
  const account = f.account.trim()
  // Asset codes are capitals by the ledger's rule, so "usd" can only mean USD.
  const asset = f.asset.trim().toUpperCase()
  if (account !== '') out.account = account
  if (asset !== '') out.asset = asset
  if (f.status !== '') out.status = f.status
  if (f.q !== '') out.q = f.q
  return out
}

export function isFiltered(f: LedgerFilter): boolean {
  return Object.keys(filterQuery(f)).length > 0
}

/** The node's filter (core/store entries()), restated for entries that arrive as events. */
export function matchesFilter(e: EntryView, f: LedgerFilter): boolean {
  const q = filterQuery(f)
  if (q.status !== undefined && e.status !== q.status) return false
  if (e.kind !== 'transfer') {
    // Member changes have no account, asset or memo: only an id search or no filter finds them.
    if (q.account !== undefined || q.asset !== undefined) return false
    return q.q === undefined || e.id.includes(q.q.toLowerCase())
  }
  if (q.account !== undefined && e.from !== q.account && e.to !== q.account) return false
  if (q.asset !== undefined && e.asset !== q.asset) return false
  if (q.q !== undefined) {
    const needle = q.q.toLowerCase()
    const hay = [e.memo.toLowerCase(), e.from, e.to, e.asset.toLowerCase(), e.id]
    if (!hay.some((h) => h.includes(needle))) return false
  }
  return true
}

/**
 * What to do with an entry event:
 * - `update`: the row is on show; replace it where it is.
 * - `insert`: a new entry that belongs at the top of the first page.
 * - `announce`: a new entry for this view, but rows would shift: count it behind a button.
 * - `ignore`: not part of this view, or an older entry (on another page) whose status moved.
 *
 * An entry is new when its id is unknown here and this node stored it no earlier than the newest
 * entry seen so far (`received`); an unknown id stored earlier is an old entry on another page.
 */
export type Placement = 'update' | 'insert' | 'announce' | 'ignore'

export function placeEntry(
  e: EntryView,
  view: {
    readonly shown: (id: string) => boolean
    readonly firstPage: boolean
    /**
     * The first page holds as many rows as it may (twice its size): a new entry is announced
     * rather than inserted, since making room would drop rows at the bottom, which someone
     * scrolled down may be reading.
     */
    readonly full?: boolean
    readonly filter: LedgerFilter
    /** The latest `received` among the rows loaded and events placed; 0 before any. */
    readonly newestReceived: number
  },
): Placement {
  if (view.shown(e.id)) return 'update'
  if (e.received < view.newestReceived) return 'ignore'
  if (!matchesFilter(e, view.filter)) return 'ignore'
  return view.firstPage && view.full !== true ? 'insert' : 'announce'
}

/**
 * How many new entries wait behind the "N new entries — show" button. An entry is announced by
 * each of its status events, so it is counted once by its id; only the latest ids are kept (an
 * entry's events follow each other within a few blocks), so a page left open for days on an
 * older page holds a bounded set, not every id since it was opened.
 */
export class FreshCounter {
  readonly #ids = new Set<string>()
  readonly #keep: number
  #count = 0

  constructor(keep = 1_000) {
    this.#keep = keep
  }

  get count(): number {
    return this.#count
  }

  /** Counts `id` unless it was counted already; true when it was new. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false
    this.#ids.add(id)
    if (this.#ids.size > this.#keep) {
      const oldest = this.#ids.values().next().value
      if (oldest !== undefined) this.#ids.delete(oldest)
    }
    this.#count++
    return true
  }

  clear(): void {
    this.#ids.clear()
    this.#count = 0
  }
}

const STATUS_RANK: Record<EntryStatus, number> = {
  submitted: 0,
  relayed: 1,
  committed: 2,
  rejected: 2,
}

/** Events and answers can cross: a late `submitted` never undoes a `committed`. */
export function laterStatus(current: EntryView, incoming: EntryView): EntryView {
  return STATUS_RANK[incoming.status] >= STATUS_RANK[current.status] ? incoming : current
}

/** An asset's decimals as the genesis fixes them: listed when they differ from the default. */
export function decimalsOf(
  asset: string,
  status: Pick<StatusView, 'assets' | 'defaultDecimals'> | null,
): number {
  const listed = status?.assets?.find((a) => a.code === asset)
  return listed?.decimals ?? status?.defaultDecimals ?? 2
}

/** A member's name, or the first characters of its node id when it is not (or no longer) one. */
export function machineName(id: string, members: readonly MemberView[]): string {
  return members.find((m) => m.id === id)?.name ?? shortHex(id)
}

export function shortHex(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id
}

/** The words a member-change entry is shown with, in the table and in the export. */
export function memberChangeText(
  e: Extract<EntryView, { kind: 'member' }>,
  members: readonly MemberView[],
): string {
  if (e.action === 'add') return `Member added: ${e.name || shortHex(e.member)}`
  return `Member removed: ${machineName(e.member, members)}`
}

/** "entries 51–100" for a page starting after `offset` rows. */
export function rangeText(offset: number, rows: number): string {
  if (rows === 0) return 'no entries'
  const fmt = (n: number) => n.toLocaleString('en-US')
  return `entries ${fmt(offset + 1)}–${fmt(offset + rows)}`
}

/** The asset codes to suggest: those the genesis lists and those with a balance. */
export function knownAssets(
  status: Pick<StatusView, 'assets'> | null,
  balances: readonly { readonly asset: string }[],
): string[] {
  const codes = new Set<string>()
  for (const a of status?.assets ?? []) codes.add(a.code)
  for (const b of balances) codes.add(b.asset)
  return [...codes].sort()
}

/** The badge style of a status; the badge always carries the word as well. */
export function statusTone(status: EntryStatus): 'ok' | 'bad' | 'idle' | 'moving' {
  switch (status) {
    case 'committed':
      return 'ok'
    case 'rejected':
      return 'bad'
    case 'relayed':
      return 'moving'
    default:
      return 'idle'
  }
}

/** When an entry was signed: the time of day for today's, with the date for older ones. */
export function entryWhen(ms: number, now: number): { time: string; date: string } {
  const d = new Date(ms)
  const time = d.toLocaleTimeString(undefined, { hour12: false })
  const today = new Date(now).toDateString() === d.toDateString()
  return { time, date: today ? 'today' : d.toLocaleDateString() }
}
