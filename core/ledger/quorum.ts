/**
 * Voting thresholds as shares of the total weight.
 *
 * Never derive an `f` from n: at n = 4, "f + 1 = 2" would let two disjoint pairs both decide.
 * Every comparison is strict (`weight * den > total * num`), which is what makes two quorums
 * intersect for every n.
 */
import { shortId } from './hex.ts'
import type { FaultModel, NodeId, Validator } from './types.ts'

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

export interface QuorumStatus {
  /** Members that must be online for the ledger to commit. */
  readonly quorum: number
  /** Members online now. */
  readonly online: number
  /** How many more members may go offline before commits stop; 0 when they already have. */
  readonly canLose: number
}

/**
 * Where a member set stands against its quorum, for "3 of 3 online — can lose 1 more". Every
 * member weighs 1; ids in `online` that are not members count for nothing.
 */
export function quorumStatus(
  members: readonly NodeId[],
  online: ReadonlySet<NodeId>,
  faultModel: FaultModel,
): QuorumStatus {
  const ids = new Set(members)
  let up = 0
  for (const id of ids) if (online.has(id)) up++
  const quorum = minimumExceeding(ids.size, thresholdsFor(faultModel).quorum)
  return { quorum, online: up, canLose: Math.max(0, up - quorum) }
}

/**
 * Why removing `removed` should not be submitted, or null when it may be. A removal that leaves
 * fewer members online than the smaller set's quorum stops the ledger until someone comes back,
 * and then no further change can commit to undo it.
 *
 * `members` must be the set the removal will apply to: the members once any pending change is in
 * (`projectedMembers`). The ledger lets one change be in flight at a time and proposers hold a
 * later one back until then, so a removal judged against today's members alone could land on a
 * set one smaller.
 */
export function removalRefusal(
  members: readonly NodeId[],
  online: ReadonlySet<NodeId>,
  faultModel: FaultModel,
  removed: NodeId,
): string | null {
  const who = `member ${shortId(removed)}`
  if (!members.includes(removed)) return `${who} is not a member`
  const rest = [...new Set(members)].filter((id) => id !== removed)
  if (rest.length === 0) return 'cannot remove the last member'
  const after = quorumStatus(rest, online, faultModel)
  if (after.online >= after.quorum) return null
  return `removing ${who} would leave ${after.online} of ${rest.length} members online, but the ledger would need ${after.quorum} online to commit; bring members back online first`
}

/**
 * Why adding `added` would stall the ledger, or null. An addition raises the member count, and
 * with it perhaps the quorum: the members online together with the newcomer (which must fetch
 * the ledger and vote) must reach it. `online` should count the newcomer only if it is there.
 */
export function additionRefusal(
  members: readonly NodeId[],
  online: ReadonlySet<NodeId>,
  faultModel: FaultModel,
  added: NodeId,
): string | null {
  const who = `machine ${shortId(added)}`
  if (members.includes(added)) return `${who} is a member already`
  const after = [...new Set(members), added]
  const status = quorumStatus(after, online, faultModel)
  if (status.online >= status.quorum) return null
  return `adding ${who} would make ${after.length} members with ${status.online} online, but the ledger would need ${status.quorum} online to commit; bring members back online first`
}
