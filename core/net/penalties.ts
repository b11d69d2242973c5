/**
 * The application's own score for each peer (gossipsub's P5). Offences decay with a half-life, so
 * one bad moment is forgiven and only a peer that keeps offending crosses the disconnect line.
 *
 * Both maps are keyed by peers that may be made up by the thousand (a key pair costs nothing):
 * `prune` drops what has decayed or expired, and past `maxPeers` the entry touched longest ago
 * goes, which at worst lets a peer back before its ban ends.
 */

export interface PenaltyPolicy {
  /** Score lost per offence. */
  readonly step: number
  readonly halfLifeMs: number
  /** Accumulated (decayed) penalty at which the peer is disconnected and briefly banned. */
  readonly disconnectAt: number
  readonly banMs: number
  /** Peers tracked at most, in debts and in bans each. */
  readonly maxPeers: number
}

export const PENALTIES: PenaltyPolicy = {
  step: 10,
  halfLifeMs: 60_000,
  // Five offences in quick succession (5 × 10, less a little decay).
  disconnectAt: 45,
  banMs: 30_000,
  // Far above the members of a ledger (at most 256) and the connections libp2p keeps (300).
  maxPeers: 4096,
}

/** A debt below this has decayed to nothing. */
const FORGIVEN = 0.01

interface Debt {
  amount: number
  at: number
}

export class Penalties {
  readonly #policy: PenaltyPolicy
  readonly #debts = new Map<string, Debt>()
  readonly #bans = new Map<string, number>()

  constructor(policy: PenaltyPolicy = PENALTIES) {
    this.#policy = policy
  }

  /** Records an offence; true when the peer should now be disconnected and banned. */
  add(peer: string, now: number): boolean {
    const amount = this.#current(peer, now) + this.#policy.step
    if (amount < this.#policy.disconnectAt) {
      touch(this.#debts, peer, { amount, at: now }, this.#policy.maxPeers)
      return false
    }
    touch(this.#bans, peer, now + this.#policy.banMs, this.#policy.maxPeers)
    // A fresh start after the ban, or the first offence after it would ban again at once.
    this.#debts.delete(peer)
    return true
  }

  /** Drops debts that have decayed to nothing and bans that are over. */
  prune(now: number): void {
    for (const peer of this.#debts.keys()) this.#current(peer, now)
    for (const [peer, until] of this.#bans) if (until <= now) this.#bans.delete(peer)
  }

  /** Peers with a debt or a ban now (tests). */
  get size(): { debts: number; bans: number } {
    return { debts: this.#debts.size, bans: this.#bans.size }
  }

  /** Current penalty, ≥ 0; gossipsub adds its negation to the peer's score. */
  penalty(peer: string, now: number): number {
    return this.#current(peer, now)
  }

  banned(peer: string, now: number): boolean {
    const until = this.#bans.get(peer)
    if (until === undefined) return false
    if (until > now) return true
    this.#bans.delete(peer)
    return false
  }

  /** ms until the ban ends, 0 if none. */
  banLeft(peer: string, now: number): number {
    const until = this.#bans.get(peer)
    return until === undefined ? 0 : Math.max(0, until - now)
  }

  #current(peer: string, now: number): number {
    const debt = this.#debts.get(peer)
    if (!debt) return 0
    const amount = debt.amount * 0.5 ** ((now - debt.at) / this.#policy.halfLifeMs)
    if (amount < FORGIVEN) {
      this.#debts.delete(peer)
      return 0
    }
    return amount
  }
}

/** Sets `key` as the most recently touched, dropping the least recently touched past `max`. */
function touch<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  if (map.size <= max) return
  const oldest = map.keys().next().value
  if (oldest !== undefined) map.delete(oldest)
}
