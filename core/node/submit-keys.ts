/**
 * Idempotency keys on the submit path. The node takes a keyed submission's bodies like any
 * others, notes what became of each, and queues the key's record into the same transaction as
 * the entries: after a crash or a power cut both are on disk or neither is, so a retry with the
 * key can never find entries without their key (and store them again) or a key without its
 * entries (and answer for what was lost).
 */
import type { EntryStatus, Hash } from '../ledger/types.ts'
import type { Store } from '../store/store.ts'

/** What became of one body of a submission: stored, with its status then, or refused. */
export type SubmitOutcome =
  | { readonly id: Hash; readonly status: EntryStatus }
  | { readonly error: string }

/** The key a submission came with, and how to make the answer the key will give again. */
export interface KeyedSubmit {
  readonly key: string
  /** What the key is used for, e.g. `POST /api/entries`. */
  readonly request: string
  /** SHA-256 of the request: a retry must match it. */
  readonly fingerprint: Uint8Array
  /**
   * The answer to keep (an HTTP status and body, opaque to the node), from each body's outcome
   * in order; null keeps no record. Called inside the write transaction, only when some body was
   * stored: it must not throw, since a failed write stops the node.
   */
  answer(outcomes: readonly SubmitOutcome[]): { status: number; body: string } | null
}

/** The bodies of one keyed submission, as the node takes them, in order. */
export class KeyedGroup {
  readonly #keyed: KeyedSubmit
  readonly #taken: ({ readonly id: Hash } | { readonly error: string })[] = []
  /** Each stored entry's status as the key's record gives it, once written. */
  readonly #statuses = new Map<Hash, EntryStatus>()

  constructor(keyed: KeyedSubmit) {
    this.#keyed = keyed
  }

  stored(id: Hash): void {
    this.#taken.push({ id })
  }

  refused(error: string): void {
    this.#taken.push({ error })
  }

  /** The status the key's record gives the entry, so that the first answer is the same. */
  statusOf(id: Hash): EntryStatus | undefined {
    return this.#statuses.get(id)
  }

  /**
   * Writes the key's record; run inside the transaction that stores the entries, and only when
   * some were stored: a submission refused whole stored nothing, and its key stays free for a
   * corrected retry.
   */
  write(store: Store, now: number): void {
    // Read in the transaction, after the entries' own writes: a node that holds a quorum alone
    // may have committed them already, and the answer says what the submitter is told.
    const outcomes: SubmitOutcome[] = this.#taken.map((t) =>
      'id' in t ? { id: t.id, status: store.entryStatus(t.id) ?? 'submitted' } : t,
    )
    for (const o of outcomes) if ('id' in o) this.#statuses.set(o.id, o.status)
    const answer = this.#keyed.answer(outcomes)
    if (answer === null) return
    const { key, request, fingerprint } = this.#keyed
    store.keys.put({ key, request, fingerprint, status: answer.status, answer: answer.body }, now)
  }
}
