/**
 * The node's persistent state in one SQLite file: blocks with their commits, every entry this
 * node has seen with its lifecycle status, small binary values (key seed, genesis, the consensus
 * write-ahead record), settings and known peers.
 *
 * Every write is durable when its transaction commits (see sqlite.ts); callers that write often
 * group their writes in `transaction` so that one fsync covers them all.
 */
import { resolve } from 'node:path'
import type Database from 'better-sqlite3'
import { decodeBlock, decodeCommit, encodeBlock, encodeCommit } from '../ledger/encoding.ts'
import { blockHash } from '../ledger/hashing.ts'
import type {
  Block,
  Commit,
  EntryOutcome,
  EntryStatus,
  Hash,
  SignedEntry,
} from '../ledger/types.ts'
import type { EntryColumns, EntryRecord, EntryRow } from './entry-rows.ts'
import {
  decodeEntryBytes,
  ENTRY_COLUMNS,
  ENTRY_ROW,
  entryColumns,
  entryRecord,
  plainBytes,
} from './entry-rows.ts'
import { StoreError, wrapSqliteError } from './errors.ts'
import { IdempotencyKeys } from './idempotency.ts'
import { JoinRequests } from './join-requests.ts'
import { openDatabase } from './sqlite.ts'

export type { EntryRecord } from './entry-rows.ts'
export { StoreError } from './errors.ts'

export interface EntryQuery {
  /** Matches the from or the to account (transfers only). */
  readonly account?: string
  /** The transfer's asset code, exactly (transfers only). */
  readonly asset?: string
  readonly status?: EntryStatus
  /** A case-insensitive substring of the memo, from, to, asset or id. */
  readonly q?: string
  /** Seq cursor: only entries with seq < before. */
  readonly before?: number
  /** 1..MAX_PAGE */
  readonly limit: number
}

export interface KnownPeer {
  readonly id: string
  readonly addrs: readonly string[]
  readonly lastSeen: number
}

export const MAX_PAGE = 500

/**
 * Peers remembered (and redialled at start), the most recently seen kept: twice the most members
 * a ledger has, so members stay when others come and go. Any machine can connect under a new key
 * each time; without a bound each one would be a row, and a dial at every start, for ever.
 */
export const MAX_KNOWN_PEERS = 512
/** Addresses kept per peer, newest first. */
export const MAX_PEER_ADDRS = 16
/** Longer than any multiaddr a TCP peer has (an IPv6 one with its /p2p/ suffix is about 110). */
export const MAX_ADDR_CHARS = 256

interface BlockColumns {
  height: number
  hash: Hash
  time: number
  proposer: string
  entryCount: number
  block: Uint8Array
  commit: Uint8Array
}

/** Every fixed statement, prepared once when the store opens. */
function prepare(db: Database.Database) {
  return {
    getMeta: db.prepare<[string], { value: Uint8Array }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare<[string, Uint8Array]>(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    deleteMeta: db.prepare<[string]>('DELETE FROM meta WHERE key = ?'),
    getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
    setSetting: db.prepare<[string, string]>(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    deleteSetting: db.prepare<[string]>('DELETE FROM settings WHERE key = ?'),
    settings: db.prepare<[], { key: string; value: string }>(
      'SELECT key, value FROM settings ORDER BY key',
    ),
    insertEntry: db.prepare<EntryColumns>(
      `INSERT INTO entries (${ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    ),
    markRelayed: db.prepare<[string]>(
      `UPDATE entries SET status = 'relayed' WHERE id = ? AND status = 'submitted'`,
    ),
    settle: db.prepare<[status: EntryStatus, height: number, reason: string | null, id: Hash]>(
      'UPDATE entries SET status = ?, height = ?, reason = ? WHERE id = ?',
    ),
    entry: db.prepare<[string], EntryRow>(`SELECT ${ENTRY_ROW} FROM entries WHERE id = ?`),
    entryStatus: db.prepare<[string], { status: EntryStatus }>(
      'SELECT status FROM entries WHERE id = ?',
    ),
    pending: db.prepare<[], { bytes: Uint8Array }>(
      `SELECT bytes FROM entries WHERE status IN ('submitted', 'relayed') ORDER BY seq`,
    ),
    height: db.prepare<[], { height: number }>(
      'SELECT coalesce(max(height), 0) AS height FROM blocks',
    ),
    hashAt: db.prepare<[number], { hash: Hash }>('SELECT hash FROM blocks WHERE height = ?'),
    insertBlock: db.prepare<BlockColumns>(
      `INSERT INTO blocks (height, hash, time, proposer, entry_count, block, commit_bytes)
       VALUES (@height, @hash, @time, @proposer, @entryCount, @block, @commit)`,
    ),
    block: db.prepare<[number], { block: Uint8Array; commit: Uint8Array }>(
      'SELECT block, commit_bytes AS "commit" FROM blocks WHERE height = ?',
    ),
    header: db.prepare<[number], { hash: Hash; time: number; proposer: string; entries: number }>(
      'SELECT hash, time, proposer, entry_count AS entries FROM blocks WHERE height = ?',
    ),
    peers: db.prepare<[], { id: string; addrs: string; lastSeen: number }>(
      'SELECT id, addrs, last_seen AS lastSeen FROM peers ORDER BY last_seen DESC, id',
    ),
    // An empty list (a peer seen before identify told us its addresses) keeps the ones we had.
    rememberPeer: db.prepare<[string, string, number]>(
      `INSERT INTO peers (id, addrs, last_seen) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET
         addrs = CASE WHEN excluded.addrs = '[]' THEN addrs ELSE excluded.addrs END,
         last_seen = excluded.last_seen`,
    ),
    forgetPeer: db.prepare<[string]>('DELETE FROM peers WHERE id = ?'),
    // The table stays small (MAX_KNOWN_PEERS rows), so a scan per remembered peer costs little.
    forgetOldPeers: db.prepare<[number]>(
      `DELETE FROM peers WHERE id IN (
         SELECT id FROM peers ORDER BY last_seen DESC, id LIMIT -1 OFFSET ?)`,
    ),
  }
}

type Statements = ReturnType<typeof prepare>

/**
 * What the block did to each id. An id the ledger had already applied, earlier or within this
 * block, comes back as a duplicate and keeps its row as the first outcome left it.
 */
function settlements(outcomes: readonly EntryOutcome[]): Map<Hash, Settlement> {
  const settled = new Map<Hash, Settlement>()
  for (const o of outcomes) if (o.status !== 'duplicate') settled.set(o.id, o)
  return settled
}

type Settlement = Exclude<EntryOutcome, { status: 'duplicate' }>

export class Store {
  readonly file: string
  /** Idempotency keys of submissions; written in the same transactions as their entries. */
  readonly keys: IdempotencyKeys
  /** Join requests waiting for a member's answer, and recent denials. */
  readonly joins: JoinRequests
  readonly #db: Database.Database
  readonly #s: Statements
  readonly #tx: (fn: () => unknown) => unknown
  #syncs = 0
  /** The page queries, one per combination of filters, prepared on first use. */
  readonly #pageQueries = new Map<string, Database.Statement<Record<string, unknown>, EntryRow>>()

  private constructor(file: string, db: Database.Database) {
    this.file = file
    this.#db = db
    this.#s = prepare(db)
    this.keys = new IdempotencyKeys(db, file)
    this.joins = new JoinRequests(db, file)
    this.#tx = db.transaction((fn: () => unknown) => {
      const result = fn()
      // The transaction would commit at the first await, with the rest of fn outside it.
      if (result instanceof Promise) throw new TypeError('a store transaction cannot be async')
      return result
    })
  }

  /** Opens (creating if missing) and checks the database; throws StoreError if it cannot be used. */
  static open(file: string): Store {
    const path = resolve(file)
    const db = openDatabase(path)
    try {
      return new Store(path, db)
    } catch (e) {
      db.close()
      throw wrapSqliteError(path, 'preparing statements', e)
    }
  }

  close(): void {
    if (this.#db.open) this.#db.close()
  }

  /**
   * Runs fn in one SQLite transaction; a nested call joins the outer one (as a savepoint).
   *
   * `durable: false` commits without an fsync (`synchronous = NORMAL` for that commit): the
   * writes survive the process being killed, since they are in the kernel's cache, but not a
   * power cut until the next durable commit syncs the log they are in. For what nothing waits
   * on (entries heard from peers, blocks any peer can send again), the fsync is not worth its cost.
   */
  transaction<T>(fn: () => T, durable = true): T {
    if (durable || this.#db.inTransaction) return this.#do('a transaction', () => this.#tx(fn) as T)
    return this.#do('a transaction', () => {
      this.#db.pragma('synchronous = NORMAL')
      try {
        return this.#tx(fn) as T
      } finally {
        this.#db.pragma('synchronous = FULL')
      }
    })
  }

  /**
   * Makes every transaction committed so far durable, those committed without an fsync
   * included. A commit that changes nothing writes nothing and syncs nothing, so this one
   * rewrites a row of its own (with a new value, so that a page changes): its fsync of the log
   * covers every commit before it.
   */
  sync(): void {
    const mark = new Uint8Array(8)
    new DataView(mark.buffer).setFloat64(0, ++this.#syncs)
    this.transaction(() => this.setMeta('synced', mark), true)
  }

  // Small binary values

  getMeta(key: string): Uint8Array | null {
    const row = this.#do('reading meta', () => this.#s.getMeta.get(key))
    return row ? plainBytes(row.value) : null
  }

  setMeta(key: string, value: Uint8Array): void {
    this.#do(`writing meta ${key}`, () => this.#s.setMeta.run(key, value))
  }

  deleteMeta(key: string): void {
    this.#do(`deleting meta ${key}`, () => this.#s.deleteMeta.run(key))
  }

  // Settings

  /** The stored JSON value, or undefined when absent. */
  getSetting(key: string): unknown {
    const row = this.#do('reading a setting', () => this.#s.getSetting.get(key))
    return row ? JSON.parse(row.value) : undefined
  }

  /** Stores any JSON value; undefined removes the setting. */
  setSetting(key: string, value: unknown): void {
    if (value === undefined) {
      this.#do(`deleting setting ${key}`, () => this.#s.deleteSetting.run(key))
      return
    }
    const json = JSON.stringify(value)
    if (json === undefined) throw new TypeError(`setting ${key} is not a JSON value`)
    this.#do(`writing setting ${key}`, () => this.#s.setSetting.run(key, json))
  }

  settings(): Record<string, unknown> {
    const rows = this.#do('reading settings', () => this.#s.settings.all())
    const out: Record<string, unknown> = {}
    for (const { key, value } of rows) out[key] = JSON.parse(value)
    return out
  }

  // Entries

  /** Inserts the entry if this database has never seen it; returns whether it did. */
  putEntry(entry: SignedEntry, local: boolean, now: number): boolean {
    const columns = entryColumns(entry, { status: local ? 'submitted' : 'relayed' }, local, now)
    const { changes } = this.#do('storing an entry', () => this.#s.insertEntry.run(...columns))
    return changes === 1
  }

  /** Moves entries from submitted to relayed; any later status stays. */
  markRelayed(ids: readonly string[]): void {
    this.transaction(() => {
      for (const id of ids) this.#s.markRelayed.run(id)
    })
  }

  entry(id: string): EntryRecord | null {
    const row = this.#do('reading an entry', () => this.#s.entry.get(id))
    return row ? entryRecord(row) : null
  }

  /** `entry(id)?.status` without decoding the entry: read for every entry of a keyed batch. */
  entryStatus(id: string): EntryStatus | null {
    return this.#do('reading an entry', () => this.#s.entryStatus.get(id))?.status ?? null
  }

  /** A page of entries, newest first; `next` is the `before` of the following page. */
  entries(query: EntryQuery): { entries: EntryRecord[]; next: number | null } {
    const { limit, before } = query
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new RangeError(
        `an entry page limit must be an integer from 1 to ${MAX_PAGE}; got ${limit}`,
      )
    }
    if (before !== undefined && !Number.isSafeInteger(before)) {
      throw new RangeError(`an entry page cursor must be an integer; got ${before}`)
    }
    const where: string[] = []
    const params: Record<string, unknown> = { limit: limit + 1 }
    if (before !== undefined) {
      where.push('seq < @before')
      params.before = before
    }
    if (query.asset !== undefined) {
      where.push('asset = @asset')
      params.asset = query.asset
    }
    if (query.status !== undefined) {
      where.push('status = @status')
      params.status = query.status
    }
    if (query.q !== undefined && query.q !== '') {
      // instr, not LIKE: a user's % or _ is a character to find, not a wildcard.
      where.push(
        '(instr(memo_folded, @q) OR instr(from_account, @q) OR instr(to_account, @q) OR instr(lower(asset), @q) OR instr(id, @q))',
      )
      params.q = query.q.toLowerCase()
    }
    const and = (extra: string[]) => {
      const all = [...extra, ...where]
      return all.length > 0 ? `WHERE ${all.join(' AND ')}` : ''
    }
    let sql: string
    if (query.account !== undefined) {
      // "from = a OR to = a" makes SQLite read every entry of the account through both indexes
      // and sort them all for one page (60 ms a page for an account in 36,000 of 100,000
      // entries). The newest page of each side, each read in order from its own index, holds the
      // newest page of both.
      params.account = query.account
      const side = (column: string) =>
        `SELECT seq FROM (SELECT seq FROM entries ${and([`${column} = @account`])} ORDER BY seq DESC LIMIT @limit)`
      sql = `SELECT ${ENTRY_ROW} FROM entries WHERE seq IN (${side('from_account')} UNION ${side('to_account')}) ORDER BY seq DESC LIMIT @limit`
    } else {
      sql = `SELECT ${ENTRY_ROW} FROM entries ${and([])} ORDER BY seq DESC LIMIT @limit`
    }
    const rows = this.#do('reading entries', () => this.#pageQuery(sql).all(params))
    const more = rows.length > limit
    const page = more ? rows.slice(0, limit) : rows
    return { entries: page.map(entryRecord), next: more ? page[page.length - 1]!.seq : null }
  }

  /** Entries not yet in a block, in arrival order: the mempool to restore after a restart. */
  pendingEntries(): SignedEntry[] {
    const rows = this.#do('reading pending entries', () => this.#s.pending.all())
    return rows.map((row) => decodeEntryBytes(row.bytes))
  }

  // Blocks

  /**
   * Stores a decided block with its commit and records what it did to each of its entries, in
   * one transaction. Storing the same block again is a no-op; a gap or a different block at a
   * stored height is refused, since either means the caller's chain is not this database's.
   */
  appendBlock(block: Block, commit: Commit, outcomes: readonly EntryOutcome[], now: number): void {
    const { header } = block
    const height = header.height
    const hash = blockHash(header)
    this.transaction(() => {
      const stored = this.#s.hashAt.get(height)
      if (stored) {
        if (stored.hash === hash) return
        throw this.#refuseBlock(height, `block ${stored.hash} is already stored at that height`)
      }
      const top = this.height()
      if (height !== top + 1) {
        throw this.#refuseBlock(height, `the last stored block is ${top}`)
      }
      if (height > 1 && this.#s.hashAt.get(height - 1)?.hash !== header.prevHash) {
        throw this.#refuseBlock(
          height,
          `it extends ${header.prevHash}, not the stored block ${top}`,
        )
      }
      if (commit.height !== height || commit.blockHash !== hash) {
        throw this.#refuseBlock(
          height,
          `its commit is for block ${commit.blockHash} at ${commit.height}`,
        )
      }
      const ids = new Set(block.entries.map((se) => se.id))
      const stranger = outcomes.find((o) => !ids.has(o.id))
      if (stranger) {
        throw this.#refuseBlock(
          height,
          `it has an outcome for entry ${stranger.id}, not in the block`,
        )
      }
      this.#s.insertBlock.run({
        height,
        hash,
        time: header.time,
        proposer: header.proposer,
        entryCount: block.entries.length,
        block: encodeBlock(block),
        commit: encodeCommit(commit),
      })
      const settled = settlements(outcomes)
      const done = new Set<Hash>()
      for (const se of block.entries) {
        if (done.has(se.id)) continue
        done.add(se.id)
        const o = settled.get(se.id)
        if (o === undefined) {
          this.#s.insertEntry.run(...entryColumns(se, { status: 'relayed' }, false, now))
          continue
        }
        const reason = o.status === 'rejected' ? o.reason : null
        // Most entries arrived by gossip before their block: one update, and no encoding.
        const { changes } = this.#s.settle.run(o.status, height, reason, se.id)
        if (changes === 0) {
          this.#s.insertEntry.run(
            ...entryColumns(se, { status: o.status, height, reason }, false, now),
          )
        }
      }
    })
  }

  block(height: number): { block: Block; commit: Commit } | null {
    const row = this.#do('reading a block', () => this.#s.block.get(height))
    if (!row) return null
    return {
      block: decodeBlock(plainBytes(row.block)),
      commit: decodeCommit(plainBytes(row.commit)),
    }
  }

  blockHeader(
    height: number,
  ): { hash: string; time: number; proposer: string; entries: number } | null {
    return this.#do('reading a block header', () => this.#s.header.get(height)) ?? null
  }

  /** The last stored block's height; 0 when there is none. */
  height(): number {
    return this.#do('reading the height', () => this.#s.height.get())!.height
  }

  // Peers

  /** Most recently seen first. */
  peers(): KnownPeer[] {
    const rows = this.#do('reading peers', () => this.#s.peers.all())
    return rows.map((r) => ({
      id: r.id,
      addrs: JSON.parse(r.addrs) as string[],
      lastSeen: r.lastSeen,
    }))
  }

  /**
   * Remembers the peer as seen at `now`, with `addrs` (newest first; the first MAX_PEER_ADDRS
   * plausible ones are kept, and an empty list keeps the ones it had). Past MAX_KNOWN_PEERS the
   * peers seen longest ago are forgotten.
   */
  rememberPeer(id: string, addrs: readonly string[], now: number): void {
    const kept = [...new Set(addrs)]
      .filter((a) => typeof a === 'string' && a.length > 0 && a.length <= MAX_ADDR_CHARS)
      .slice(0, MAX_PEER_ADDRS)
    this.transaction(() => {
      this.#s.rememberPeer.run(id, JSON.stringify(kept), now)
      this.#s.forgetOldPeers.run(MAX_KNOWN_PEERS)
    })
  }

  forgetPeer(id: string): void {
    this.#do('forgetting a peer', () => this.#s.forgetPeer.run(id))
  }

  #pageQuery(sql: string) {
    let stmt = this.#pageQueries.get(sql)
    if (!stmt) {
      stmt = this.#db.prepare<Record<string, unknown>, EntryRow>(sql)
      this.#pageQueries.set(sql, stmt)
    }
    return stmt
  }

  #refuseBlock(height: number, why: string): StoreError {
    return new StoreError(`ledger database ${this.file}: refusing to store block ${height}: ${why}`)
  }

  #do<T>(doing: string, fn: () => T): T {
    try {
      return fn()
    } catch (e) {
      throw wrapSqliteError(this.file, doing, e)
    }
  }
}
