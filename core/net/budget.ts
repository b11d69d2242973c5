/**
 * Bytes held for incomplete inbound frames, per peer and in all. A peer sends its frames in
 * order on one stream, so at any moment an honest one has at most one frame in flight to us:
 * `perPeer` is one largest frame, whatever number of streams or connections the peer opens.
 * `total` caps what all peers together can make us hold, for a peer with many identities.
 */

export interface BudgetPolicy {
  readonly perPeer: number
  readonly total: number
}

/** Which bound a change would break, or null if it fits. */
export type Overrun = 'peer' | 'total' | null

export class ByteBudget {
  readonly #policy: BudgetPolicy
  readonly #held = new Map<string, number>()
  #total = 0

  constructor(policy: BudgetPolicy) {
    this.#policy = policy
  }

  /**
   * Moves what `peer` holds by `delta` bytes, unless growing it would break a bound: then nothing
   * changes and the bound is named. Shrinking always succeeds.
   */
  adjust(peer: string, delta: number): Overrun {
    const held = this.#held.get(peer) ?? 0
    if (delta > 0) {
      if (held + delta > this.#policy.perPeer) return 'peer'
      if (this.#total + delta > this.#policy.total) return 'total'
    }
    const next = Math.max(0, held + delta)
    this.#total += next - held
    // A peer holding nothing is forgotten: the map never outgrows the peers mid-frame.
    if (next === 0) this.#held.delete(peer)
    else this.#held.set(peer, next)
    return null
  }

  held(peer: string): number {
    return this.#held.get(peer) ?? 0
  }

  get total(): number {
    return this.#total
  }

  /** Peers holding anything now. */
  get peers(): number {
    return this.#held.size
  }
}
