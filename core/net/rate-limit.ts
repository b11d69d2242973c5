/**
 * A token bucket per key (a peer), for work a peer can ask of us faster than it is worth doing.
 * Each key's bucket refills at `ratePerSecond` up to `burst`; `take` spends tokens if there are
 * enough, and `charge` spends them after the fact (the cost of a sync answer is known only once
 * it is made), which may leave a key in debt until it refills.
 *
 * Memory is bounded by `maxKeys`: past it the least recently used bucket goes, which at worst
 * forgives a key its debt early (a bucket left alone long enough is full, the same as none).
 */

export interface RatePolicy {
  readonly ratePerSecond: number
  readonly burst: number
  readonly maxKeys: number
}

interface Bucket {
  tokens: number
  at: number
}

export class RateLimiter {
  readonly #policy: RatePolicy
  /** In order of last use: the first is the least recently used. */
  readonly #buckets = new Map<string, Bucket>()

  constructor(policy: RatePolicy) {
    for (const key of ['ratePerSecond', 'burst', 'maxKeys'] as const) {
      const value = policy[key]
      if (!Number.isFinite(value) || value <= 0)
        throw new RangeError(`${key} must be > 0: ${value}`)
    }
    this.#policy = policy
  }

  /** Spends `cost` tokens of `key` if it has them; otherwise spends nothing and returns false. */
  take(key: string, now: number, cost = 1): boolean {
    const bucket = this.#refill(key, now)
    if (bucket.tokens < cost) return false
    bucket.tokens -= cost
    return true
  }

  /** Spends `cost` tokens whether or not they are there: the key may go into debt. */
  charge(key: string, now: number, cost: number): void {
    this.#refill(key, now).tokens -= cost
  }

  /** Tokens `key` has now (negative while in debt). */
  available(key: string, now: number): number {
    const bucket = this.#buckets.get(key)
    return bucket === undefined ? this.#policy.burst : this.#level(bucket, now)
  }

  forget(key: string): void {
    this.#buckets.delete(key)
  }

  /** Keys tracked now; at most maxKeys. */
  get size(): number {
    return this.#buckets.size
  }

  #refill(key: string, now: number): Bucket {
    const found = this.#buckets.get(key)
    const bucket: Bucket =
      found === undefined
        ? { tokens: this.#policy.burst, at: now }
        : { tokens: this.#level(found, now), at: now }
    // Re-inserted so that the map's order stays least recently used first.
    this.#buckets.delete(key)
    this.#buckets.set(key, bucket)
    if (this.#buckets.size > this.#policy.maxKeys) {
      const oldest = this.#buckets.keys().next().value
      if (oldest !== undefined) this.#buckets.delete(oldest)
    }
    return bucket
  }

  #level(bucket: Bucket, now: number): number {
    // A clock that stepped back refills nothing, rather than draining the bucket.
    const elapsed = Math.max(0, now - bucket.at)
    return Math.min(
      this.#policy.burst,
      bucket.tokens + (elapsed * this.#policy.ratePerSecond) / 1000,
    )
  }
}
