/**
 * Join requests waiting for a member's answer, and the recent denials. Persisted, as Syncthing
 * persists its pending devices: a request made while nobody was looking is still there after
 * the node restarts, and a machine that was just denied does not reappear because of one.
 *
 * Any machine on the network can ask, under a new key each time, so both tables are bounded and
 * a flood costs the flooder its own slots first: at most MAX_JOIN_REQUESTS_PER_HOST pending per
 * source address (a new one replaces that address's least recently seen), MAX_JOIN_REQUESTS in
 * all (then a new one is refused), and MAX_JOIN_DENIALS denials remembered.
 */
import type Database from 'better-sqlite3'
import { NODE_ID_PATTERN } from '../ledger/limits.ts'
import type { NodeId } from '../ledger/types.ts'
import { wrapSqliteError } from './errors.ts'

/** Requests pending at once: far more than an office adds at a time, few enough to read down. */
export const MAX_JOIN_REQUESTS = 64
/**
 * Pending requests from one source address. A machine may legitimately restart under a new key
 * or run a few nodes; more than this from one address is noise, and it displaces only its own.
 */
export const MAX_JOIN_REQUESTS_PER_HOST = 4
/** The join protocol's bound on a machine name (`core/net/join.ts`), in UTF-16 units. */
export const MAX_JOIN_NAME_CHARS = 64
/** Longer than any multiaddr a TCP peer has, as for known peers. */
export const MAX_JOIN_ADDR_CHARS = 256
/** An IP address as text is at most 45 characters (IPv6 with an embedded IPv4), plus a zone. */
export const MAX_JOIN_HOST_CHARS = 64
/** How long a denied machine's requests are turned away unseen. */
export const JOIN_DENIAL_MS = 60 * 60 * 1000
/** Denials remembered, the least recent forgotten first: 4 times the pending requests. */
export const MAX_JOIN_DENIALS = 256

export interface JoinRequest {
  readonly id: NodeId
  /** The name the machine gave for itself. */
  readonly name: string
  /** The multiaddr the request came from. */
  readonly addr: string
  /** The IP address the request came from: what the per-address bound counts by. */
  readonly host: string
  /** When it was first asked and last asked (again), ms since the epoch. */
  readonly firstAt: number
  readonly lastAt: number
}

export type JoinRequestInput = Omit<JoinRequest, 'firstAt' | 'lastAt'>

/**
 * - `added`: now pending (if its address already had the most pending, that address's least
 *   recently seen request was dropped for it);
 * - `refreshed`: was pending; its name, address and last-seen time are updated;
 * - `denied`: denied less than JOIN_DENIAL_MS ago; not stored;
 * - `full`: MAX_JOIN_REQUESTS are pending; not stored.
 */
export type JoinOutcome = 'added' | 'refreshed' | 'denied' | 'full'

/**
 * A request or denial outside the bounds. The caller validates what comes off the network
 * first; this is the store refusing to keep what it was never meant to be given.
 */
export class JoinRequestError extends RangeError {
  override name = 'JoinRequestError'
}

export class JoinRequests {
  readonly #file: string
  readonly #s: ReturnType<typeof prepare>
  readonly #tx: <T>(fn: () => T) => T

  constructor(db: Database.Database, file: string) {
    this.#file = file
    this.#s = prepare(db)
    // Inside a caller's transaction this is a savepoint of it, so it joins the caller's commit.
    const tx = db.transaction((fn: () => unknown) => fn())
    this.#tx = <T>(fn: () => T) => tx(fn) as T
  }

  /** Records that `req.id` asks to join at `now`; see JoinOutcome. */
  request(req: JoinRequestInput, now: number): JoinOutcome {
    const { id, name, addr, host } = req
    checkId(id)
    checkTime(now)
    checkText(name, 'name', MAX_JOIN_NAME_CHARS)
    checkText(addr, 'address', MAX_JOIN_ADDR_CHARS)
    checkText(host, 'host', MAX_JOIN_HOST_CHARS)
    return this.#do('recording a join request', () =>
      this.#tx((): JoinOutcome => {
        const denied = this.#s.deniedAt.get(id)
        if (denied !== undefined && now - denied.at < JOIN_DENIAL_MS) return 'denied'
        const pending = this.#s.get.get(id)
        if (pending !== undefined) {
          // A machine whose address changed (DHCP) takes its slot to its new address's count.
          if (pending.host !== host) this.#makeRoom(host, id)
          this.#s.refresh.run(name, addr, host, now, id)
          return 'refreshed'
        }
        const fromHost = this.#s.countHost.get(host)!.n
        if (fromHost >= MAX_JOIN_REQUESTS_PER_HOST) this.#makeRoom(host, null)
        else if (this.#s.count.get()!.n >= MAX_JOIN_REQUESTS) return 'full'
        this.#s.insert.run(id, name, addr, host, now, now)
        return 'added'
      }),
    )
  }

  /** The pending requests, oldest first. */
  list(): JoinRequest[] {
    return this.#do('reading join requests', () => this.#s.list.all())
  }

  get(id: NodeId): JoinRequest | null {
    return this.#do('reading a join request', () => this.#s.get.get(id)) ?? null
  }

  /**
   * Drops the request and turns the machine's requests away for JOIN_DENIAL_MS from `now`.
   * The denial is recorded even when nothing was pending (a request dropped while the user
   * read it is still meant to stay away). Returns whether a request was pending.
   */
  deny(id: NodeId, now: number): boolean {
    checkId(id)
    checkTime(now)
    return this.#do('denying a join request', () =>
      this.#tx(() => {
        const { changes } = this.#s.remove.run(id)
        // Deleted and inserted, not updated, so that its seq is the newest and the trim below
        // drops the least recently denied, whatever the clock said.
        this.#s.forgetDenial.run(id)
        this.#s.deny.run(id, now)
        this.#s.trimDenials.run(MAX_JOIN_DENIALS)
        return changes === 1
      }),
    )
  }

  /** Drops the request (approved, or the machine became a member); returns whether it was there. */
  remove(id: NodeId): boolean {
    return this.#do('removing a join request', () => this.#s.remove.run(id)).changes === 1
  }

  /** When the machine was last denied, however long ago, if the denial is still remembered. */
  deniedAt(id: NodeId): number | null {
    return this.#do('reading a join denial', () => this.#s.deniedAt.get(id))?.at ?? null
  }

  /** Leaves `host` fewer than MAX_JOIN_REQUESTS_PER_HOST requests besides `keep`'s. */
  #makeRoom(host: string, keep: NodeId | null): void {
    this.#s.dropOldestOfHost.run(host, keep ?? '', MAX_JOIN_REQUESTS_PER_HOST - 1)
  }

  #do<T>(doing: string, fn: () => T): T {
    try {
      return fn()
    } catch (e) {
      throw wrapSqliteError(this.#file, doing, e)
    }
  }
}

function checkId(id: NodeId): void {
  if (typeof id !== 'string' || !NODE_ID_PATTERN.test(id)) {
    throw new JoinRequestError('a join request id must be 64 lowercase hex characters')
  }
}

function checkTime(now: number): void {
  if (!Number.isSafeInteger(now)) {
    throw new JoinRequestError(`a join request time must be an integer of ms; got ${now}`)
  }
}

function checkText(s: string, field: string, max: number): void {
  if (typeof s !== 'string') throw new JoinRequestError(`a join request ${field} must be a string`)
  if (s.length > max) {
    throw new JoinRequestError(
      `a join request ${field} is ${s.length} characters; at most ${max} are kept`,
    )
  }
}

const REQUEST_COLUMNS = 'id, name, addr, host, first_at AS firstAt, last_at AS lastAt'

function prepare(db: Database.Database) {
  return {
    get: db.prepare<[NodeId], JoinRequest>(
      `SELECT ${REQUEST_COLUMNS} FROM join_requests WHERE id = ?`,
    ),
    list: db.prepare<[], JoinRequest>(
      `SELECT ${REQUEST_COLUMNS} FROM join_requests ORDER BY first_at, id`,
    ),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM join_requests'),
    countHost: db.prepare<[string], { n: number }>(
      'SELECT count(*) AS n FROM join_requests WHERE host = ?',
    ),
    insert: db.prepare<[NodeId, string, string, string, number, number]>(
      `INSERT INTO join_requests (id, name, addr, host, first_at, last_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    refresh: db.prepare<[string, string, string, number, NodeId]>(
      'UPDATE join_requests SET name = ?, addr = ?, host = ?, last_at = ? WHERE id = ?',
    ),
    remove: db.prepare<[NodeId]>('DELETE FROM join_requests WHERE id = ?'),
    // Keeps the host's most recently seen requests, `keep` aside: the least recent go.
    dropOldestOfHost: db.prepare<[host: string, keep: string, room: number]>(
      `DELETE FROM join_requests WHERE id IN (
         SELECT id FROM join_requests WHERE host = ? AND id <> ?
         ORDER BY last_at DESC, first_at DESC, id DESC LIMIT -1 OFFSET ?)`,
    ),
    deniedAt: db.prepare<[NodeId], { at: number }>('SELECT at FROM join_denials WHERE id = ?'),
    forgetDenial: db.prepare<[NodeId]>('DELETE FROM join_denials WHERE id = ?'),
    deny: db.prepare<[NodeId, number]>('INSERT INTO join_denials (id, at) VALUES (?, ?)'),
    // At most MAX_JOIN_DENIALS + 1 rows are there: the scan is short.
    trimDenials: db.prepare<[number]>(
      `DELETE FROM join_denials WHERE seq <= (
         SELECT seq FROM join_denials ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
    ),
  }
}
