/** How an entry maps to a row of the entries table, and back. */
import { decodeSignedEntry, encodeSignedEntry } from '../ledger/encoding.ts'
import type { EntryStatus, SignedEntry } from '../ledger/types.ts'

export interface EntryRecord {
  /** Arrival order in this database (its rowid), used as the page cursor. */
  readonly seq: number
  readonly entry: SignedEntry
  readonly status: EntryStatus
  /** The block that committed or rejected it. */
  readonly height: number | null
  /** Why it was rejected. */
  readonly reason: string | null
  /** Submitted at this node. */
  readonly local: boolean
  /** Milliseconds since the epoch when this node first stored it. */
  readonly received: number
}

/**
 * The insert statement's parameters, in the order of ENTRY_COLUMNS. Positional: better-sqlite3
 * binds them measurably faster than named ones, and a block stores thousands at a time.
 */
export type EntryColumns = [
  id: string,
  bytes: Uint8Array,
  kind: 'transfer' | 'member',
  author: string,
  from: string | null,
  to: string | null,
  asset: string | null,
  amount: bigint | null,
  memo: string | null,
  memoFolded: string | null,
  status: EntryStatus,
  height: number | null,
  reason: string | null,
  local: 0 | 1,
  received: number,
]

export const ENTRY_COLUMNS =
  'id, bytes, kind, author, from_account, to_account, asset, amount, memo, memo_folded, status, height, reason, local, received'

export interface EntryRow {
  seq: number
  bytes: Uint8Array
  status: EntryStatus
  height: number | null
  reason: string | null
  local: number
  received: number
}

export const ENTRY_ROW = 'seq, bytes, status, height, reason, local, received'

/** Where an entry stands when first stored: pending, or settled by the block that brought it. */
export interface Standing {
  readonly status: EntryStatus
  readonly height?: number
  readonly reason?: string | null
}

export function entryColumns(
  se: SignedEntry,
  standing: Standing,
  local: boolean,
  received: number,
): EntryColumns {
  const { body } = se.entry
  const t = body.kind === 'transfer' ? body : null
  return [
    se.id,
    encodeSignedEntry(se),
    body.kind,
    se.entry.author,
    t?.from ?? null,
    t?.to ?? null,
    t?.asset ?? null,
    t?.amount ?? null,
    t?.memo ?? null,
    // SQLite's lower() folds ASCII only; memos are any language.
    t ? t.memo.toLowerCase() : null,
    standing.status,
    standing.height ?? null,
    standing.reason ?? null,
    local ? 1 : 0,
    received,
  ]
}

export function entryRecord(row: EntryRow): EntryRecord {
  return {
    seq: row.seq,
    entry: decodeEntryBytes(row.bytes),
    status: row.status,
    height: row.height,
    reason: row.reason,
    local: row.local === 1,
    received: row.received,
  }
}

/**
 * SQLite hands blobs back as Buffers; a plain view keeps signatures equal (deepStrictEqual) to
 * the Uint8Arrays they were stored from.
 */
export function plainBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

export function decodeEntryBytes(bytes: Uint8Array): SignedEntry {
  return decodeSignedEntry(plainBytes(bytes))
}
