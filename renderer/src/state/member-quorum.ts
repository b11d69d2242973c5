/**
 * What removing a member does to the quorum, told before anyone confirms it. The rule mirrors
 * `core/ledger/quorum.ts` (the renderer may not import core): a block needs the votes of more
 * than half of the members (crash fault model) or more than two thirds (byzantine), each member
 * weighing 1. The node judges the removal again when it is asked (`removalRefusal`); this only
 * lets people see the consequence first and keeps them from asking for what it would refuse.
 */
import type { FaultModel } from '../../../core/api/types.ts'

/** The least number of members whose votes commit a block among `members`. */
export function quorumOf(members: number, model: FaultModel): number {
  const [num, den] = model === 'crash' ? [1, 2] : [2, 3]
  // Strictly more than num/den of them, as core's `minimumExceeding`.
  return Math.floor((members * num) / den) + 1
}

export interface RemovalInput {
  /** Ids of today's members. */
  readonly members: readonly string[]
  /** Ids of the members online now (this machine included). */
  readonly online: ReadonlySet<string>
  readonly faultModel: FaultModel
  readonly removed: string
  /** How people know the removed member. */
  readonly name: string
}

export interface RemovalConsequence {
  /** Members once it is removed. */
  readonly remaining: number
  /** Members that must vote for a block once it is removed. */
  readonly quorum: number
  /** Of the remaining members, those online now. */
  readonly onlineAfter: number
  /** How many of the remaining may be off while the ledger still commits. */
  readonly canLose: number
  /** The ledger after the removal, in words. */
  readonly text: string
  /** Why it must not be confirmed now, in words; null when it may be. */
  readonly blocker: string | null
}

function members(n: number): string {
  return n === 1 ? '1 member' : `${n} members`
}

function machines(n: number): string {
  return n === 0 ? 'no machine' : n === 1 ? '1 machine' : `${n} machines`
}

export function removalConsequence(input: RemovalInput): RemovalConsequence {
  const rest = [...new Set(input.members)].filter((id) => id !== input.removed)
  const remaining = rest.length
  const quorum = remaining === 0 ? 0 : quorumOf(remaining, input.faultModel)
  const onlineAfter = rest.filter((id) => input.online.has(id)).length
  const canLose = Math.max(0, remaining - quorum)
  if (!input.members.includes(input.removed)) {
    return {
      remaining,
      quorum,
      onlineAfter,
      canLose,
      text: `${input.name} is not a member of this ledger.`,
      blocker: `${input.name} is not a member, so there is nothing to remove.`,
    }
  }
  if (remaining === 0) {
    return {
      remaining,
      quorum,
      onlineAfter,
      canLose,
      text: `${input.name} is the last member: without it the ledger would have no one to commit.`,
      blocker: 'The last member of a ledger cannot be removed.',
    }
  }
  const needs =
    remaining === 1
      ? 'needs it online to commit'
      : quorum === remaining
        ? remaining === 2
          ? 'needs both of them to commit'
          : `needs all ${remaining} of them to commit`
        : `needs ${quorum} of them to commit`
  const text = `After removing ${input.name}, the ledger has ${members(remaining)} and ${needs}: it can lose ${machines(canLose)}.`
  let blocker: string | null = null
  if (onlineAfter < quorum) {
    const verb = onlineAfter === 1 ? 'is' : 'are'
    const who =
      onlineAfter === 0
        ? `None of the remaining ${remaining} is online`
        : `Only ${onlineAfter} of the remaining ${remaining} ${verb} online`
    blocker = `${who}: removing now would stop commits. Bring members back online first.`
  }
  return { remaining, quorum, onlineAfter, canLose, text, blocker }
}
