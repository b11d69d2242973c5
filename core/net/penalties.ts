/**
 * The application's own score for each peer (gossipsub's P5). Offences decay with a half-life, so
 * one bad moment is forgiven and only a peer that keeps offending crosses the disconnect line.
 */

export interface PenaltyPolicy {
  /** Score lost per offence. */
  readonly step: number
  readonly halfLifeMs: number
  /** Accumulated (decayed) penalty at which the peer is disconnected and briefly banned. */
  readonly disconnectAt: number
  readonly banMs: number
}

export const PENALTIES: PenaltyPolicy = {
  step: 10,
  halfLifeMs: 60_000,
  // Five offences in quick succession (5 × 10, less a little decay).
  disconnectAt: 45,
  banMs: 30_000,
}

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
    this.#debts.set(peer, { amount, at: now })
    if (amount < this.#policy.disconnectAt) return false
    this.#bans.set(peer, now + this.#policy.banMs)
    // A fresh start after the ban, or the first offence after it would ban again at once.
    this.#debts.delete(peer)
    return true
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
    if (amount < 0.01) {
      this.#debts.delete(peer)
      return 0
    }
    return amount
  }
}
