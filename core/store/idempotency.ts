/**
 * Idempotency keys: for each key a client sent with a submission, the request it came with (a
 * hash) and the answer it got. The node writes a key in the transaction that stores the entries
 * it answers for, so after a crash or a power cut both are there or neither is, and a client that
 * retries with the key is given the first answer instead of a second entry.
 *
 * Bounded two ways: a key is kept at least KEY_TTL_MS and pruned after it, and past
 * MAX_KEY_RECORDS rows the oldest go first, whatever their age.
 */
import type Database from 'better-sqlite3'
import { wrapSqliteError } from './errors.ts'

/** How long a key is kept: the IETF draft suggests at least 24 hours. */
export const KEY_TTL_MS = 24 * 60 * 60 * 1000
/**
 * Rows kept at most. More than an office submits in a day (one request a second, all day, is
 * 86,400), so the cap only bites under a flood; it keeps the table's size, and the time of the
 * queries on it, bounded whatever comes in.
 */
export const MAX_KEY_RECORDS = 100_000
/** Expired keys are looked for at most this often while keys are written, and at every start. */
const PRUNE_EVERY_MS = 60_000

export interface KeyRecord {
  readonly key: string
  /** What the key was used for, e.g. `POST /api/entries`: named when a key is reused elsewhere. */
  readonly request: string
  /** SHA-256 of the request (method, path and body bytes). */
  readonly fingerprint: Uint8Array
  /** The answer given, to give again: its HTTP status and body. */
  readonly status: number
  readonly answer: string
  /** When it was stored, ms since the epoch. */
  readonly created: number
}

export interface KeyLimits {
  readonly ttlMs: number
  readonly maxRecords: number
}

export class IdempotencyKeys {
  readonly #file: string
  readonly #limits: KeyLimits
  readonly #s: ReturnType<typeof prepare>
  #nextPrune = 0

  constructor(
    db: Database.Database,
    file: string,
    limits: KeyLimits = { ttlMs: KEY_TTL_MS, maxRecords: MAX_KEY_RECORDS },
  ) {
    this.#file = file
    this.#limits = limits
    this.#s = prepare(db)
  }

  get(key: string): KeyRecord | null {
    const row = this.#do('reading an idempotency key', () => this.#s.get.get(key))
    if (row === undefined) return null
    const f = row.fingerprint
    return { ...row, fingerprint: new Uint8Array(f.buffer, f.byteOffset, f.byteLength) }
  }

  /**
   * Stores the key at `now`, unless it is stored already (the first answer stands). Runs inside
   * the caller's transaction when there is one: that is what ties a key to its entries.
   */
  put(record: Omit<KeyRecord, 'created'>, now: number): void {
    const { key, request, fingerprint, status, answer } = record
    this.#do('storing an idempotency key', () => {
      const r = this.#s.put.run(key, request, fingerprint, status, answer, now)
      // seq rises with every row, so the rows past the cap are one range at the bottom.
      const over = Number(r.lastInsertRowid) - this.#limits.maxRecords
      if (r.changes === 1 && over > 0) this.#s.dropBelow.run(over)
    })
    if (now >= this.#nextPrune) this.prune(now)
  }

  /** Forgets the keys older than the time to live; returns how many. Cheap: an index range. */
  prune(now: number): number {
    this.#nextPrune = now + PRUNE_EVERY_MS
    const { changes } = this.#do('pruning idempotency keys', () =>
      this.#s.expire.run(now - this.#limits.ttlMs),
    )
    return changes
  }

  #do<T>(doing: string, fn: () => T): T {
    try {
      return fn()
    } catch (e) {
      throw wrapSqliteError(this.#file, doing, e)
    }
  }
}

function prepare(db: Database.Database) {
  return {
    get: db.prepare<[string], Omit<KeyRecord, 'fingerprint'> & { fingerprint: Buffer }>(
      'SELECT key, request, fingerprint, status, answer, created FROM idempotency_keys WHERE key = ?',
    ),
    put: db.prepare<[string, string, Uint8Array, number, string, number]>(
      `INSERT INTO idempotency_keys (key, request, fingerprint, status, answer, created)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
    ),
    dropBelow: db.prepare<[number]>('DELETE FROM idempotency_keys WHERE seq <= ?'),
    expire: db.prepare<[number]>('DELETE FROM idempotency_keys WHERE created < ?'),
  }
}
