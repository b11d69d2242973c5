/**
 * Trying a request again when its answer was lost. Safe only for a request that cannot take
 * effect twice: a GET, or a submission with an Idempotency-Key, which the node answers a second
 * time with its first answer instead of a second entry.
 */

/** An attempt that failed without an answer (or with "try again"): it may be tried again. */
export class Transient extends Error {}

export interface RetryOptions {
  /** Attempts after the first. */
  readonly retries: number
  /** The wait before the first retry; each later one waits twice as long as the one before. */
  readonly firstDelayMs: number
}

/** Calls `attempt` (given its number, from 0) until it succeeds, fails for good, or runs out. */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  o: RetryOptions,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n)
    } catch (error) {
      if (!(error instanceof Transient) || n >= o.retries) throw error
      await new Promise((r) => setTimeout(r, o.firstDelayMs * 2 ** n))
    }
  }
}
