/**
 * Voting thresholds as shares of the total weight.
 *
 * Never derive an `f` from n: at n = 4, "f + 1 = 2" would let two disjoint pairs both decide.
 * Every comparison is strict (`weight * den > total * num`), which is what makes two quorums
 * intersect for every n.
 */
import type { FaultModel, Validator } from './types.ts'

export interface Share {
  readonly num: number
  readonly den: number
}

export interface Thresholds {
  /** Weight that decides: more than half (crash) or more than two thirds (byzantine). */
  readonly quorum: Share
  /** Weight from a higher round that makes a node skip to it (Tendermint line 55). */
  readonly skip: Share
}

export function thresholdsFor(model: FaultModel): Thresholds {
  return model === 'crash'
    ? { quorum: { num: 1, den: 2 }, skip: { num: 0, den: 1 } }
    : { quorum: { num: 2, den: 3 }, skip: { num: 1, den: 3 } }
}

/** True when `weight` is strictly more than `share` of `total`. */
export function exceeds(weight: number, total: number, share: Share): boolean {
  return weight * share.den > total * share.num
}

export function totalWeight(validators: readonly Validator[]): number {
  let total = 0
  for (const v of validators) total += v.weight
  return total
}

/** The least weight that exceeds `share` of `total`, e.g. 2 of 3 for a crash quorum. */
export function minimumExceeding(total: number, share: Share): number {
  // weight * den > total * num  ⇔  weight > total * num / den
  return Math.floor((total * share.num) / share.den) + 1
}

/**
 * How many members (of equal weight) can be lost while the rest still reach a quorum.
 * The UI uses it for "can lose N"; byzantine mode at n = 3 honestly answers 0.
 */
export function faultsTolerated(members: number, model: FaultModel): number {
  const needed = minimumExceeding(members, thresholdsFor(model).quorum)
  return Math.max(0, members - needed)
}
