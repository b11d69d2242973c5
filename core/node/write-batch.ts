/**
 * Group commit. Writes queue up and go to disk in one SQLite transaction (one fsync) when
 * something depends on them: submitters waiting for their acknowledgement. Writes nothing waits
 * on ride along with the next such transaction, or go on their own, without an fsync, at the end
 * of the event-loop turn. (The consensus record has its own log: see core/store/vote-log.ts.)
 *
 * Under load this turns thousands of submits a second into a few transactions a second: the
 * fsync is the cost, and it is shared by everything queued behind it.
 */
export interface Transactional {
  transaction<T>(fn: () => T, durable?: boolean): T
  /** Makes every transaction committed so far durable. */
  sync(): void
}

export class WriteBatch {
  readonly #db: Transactional
  readonly #onError: (error: unknown) => void
  #ops: (() => void)[] = []
  /** A queued write that something will wait on. */
  #durable = false
  /** A transaction was committed without an fsync and none with one has followed. */
  #unsynced = false
  #scheduled: NodeJS.Immediate | null = null

  constructor(db: Transactional, onError: (error: unknown) => void) {
    this.#db = db
    this.#onError = onError
  }

  add(op: () => void, durable: boolean): void {
    this.#ops.push(op)
    if (durable) this.#durable = true
  }

  /** Commits the rest at the end of this event-loop turn. */
  flushSoon(): void {
    if (this.#scheduled !== null || this.#ops.length === 0) return
    this.#scheduled = setImmediate(() => {
      this.#scheduled = null
      try {
        this.flush()
      } catch {
        // Reported to onError, which stops the node; thrown here it would kill the process first.
      }
    })
  }

  /**
   * Commits what is queued, with an fsync if anything queued must be durable (or `sync` asks).
   * Throws what the database threw, after reporting it: nothing after a failed write may run.
   */
  flush(sync = false): void {
    const ops = this.#ops
    const durable = this.#durable || sync
    this.#ops = []
    this.#durable = false
    if (ops.length > 0) {
      try {
        this.#db.transaction(() => {
          for (const op of ops) op()
        }, durable)
      } catch (error) {
        this.#onError(error)
        throw error
      }
      // An fsync of the database's log covers every transaction in it, not only this one.
      this.#unsynced = !durable
    }
  }

  /**
   * Everything queued or committed so far is durable when this returns. A flush with nothing
   * queued commits nothing, and so syncs nothing: what went without an fsync before needs
   * one of its own.
   */
  sync(): void {
    if (this.#ops.length > 0) {
      this.flush(true)
      return
    }
    if (!this.#unsynced) return
    try {
      this.#db.sync()
    } catch (error) {
      this.#onError(error)
      throw error
    }
    this.#unsynced = false
  }

  cancel(): void {
    if (this.#scheduled !== null) clearImmediate(this.#scheduled)
    this.#scheduled = null
  }
}
