/**
 * Membership changes wait MEMBER_CHANGE_DELAY heights before they reach the validator set, so
 * that every node knows who votes on a height before that height starts.
 */
import type { Member, NodeId, SignedEntry, Validator } from './types.ts'

/** A change committed in block h is in the validator set from height h + 2. */
export const MEMBER_CHANGE_DELAY = 2

export interface PendingMemberChange {
  readonly member: NodeId
  readonly action: 'add' | 'remove'
  /** The first height whose validator set reflects the change. */
  readonly effective: number
  /** The name to show once added; empty for a removal. */
  readonly name: string
}

export function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** Who will be a member once every pending change has taken effect. */
export function projectedMembers(
  members: readonly Member[],
  pending: readonly PendingMemberChange[],
): Set<NodeId> {
  const ids = new Set(members.map((m) => m.id))
  for (const c of pending) {
    if (c.action === 'add') ids.add(c.member)
    else ids.delete(c.member)
  }
  return ids
}

/** The members and remaining changes once the changes effective at `height` or before are in. */
export function activate(
  members: readonly Member[],
  pending: readonly PendingMemberChange[],
  height: number,
): { members: readonly Member[]; pending: readonly PendingMemberChange[] } {
  if (!pending.some((c) => c.effective <= height)) return { members, pending }
  const current = new Map(members.map((m) => [m.id, m]))
  const remaining: PendingMemberChange[] = []
  for (const c of pending) {
    if (c.effective > height) remaining.push(c)
    else if (c.action === 'add') current.set(c.member, { id: c.member, name: c.name })
    else current.delete(c.member)
  }
  return { members: [...current.values()].sort(byId), pending: remaining }
}

export function validatorsOf(members: readonly Member[]): readonly Validator[] {
  return members.map((m) => ({ id: m.id, weight: 1 }))
}

/**
 * The candidates a proposer offers for the next block, in their order, less the member changes
 * execution would refuse for their timing alone: every one while a change is pending, and all but
 * the first otherwise. Those held back stay where they are for a later block, so in normal
 * operation no change is rejected for arriving together with another.
 */
export function proposable(
  candidates: Iterable<SignedEntry>,
  changePending: boolean,
): SignedEntry[] {
  const out: SignedEntry[] = []
  let changeTaken = changePending
  for (const se of candidates) {
    if (se.entry.body.kind === 'member') {
      if (changeTaken) continue
      changeTaken = true
    }
    out.push(se)
  }
  return out
}
