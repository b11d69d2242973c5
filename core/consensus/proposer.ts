/**
 * Who proposes at (height, round).
 *
 * Rotation by height and round over the validators sorted by id, so there is no primary. In
 * round 0 the rotation passes over validators whose precommit is missing from the last commit
 * recorded in the previous block: an unplugged machine then costs a round or two per outage,
 * not one per turn (CometBFT's weakness, where one offline proposer of three stretches 1 s
 * blocks to about 4 s). The commit recorded in a block is agreed by every node, so they all
 * pass over the same validators; a node's own view of who voted is not.
 */
import type { NodeId, Validator } from '../ledger/types.ts'

export function proposerFor(
  validators: readonly Validator[],
  height: number,
  round: number,
  passOver: readonly NodeId[],
): NodeId {
  const n = validators.length
  if (n === 0) throw new Error('no validators')
  let start = height % n
  for (let i = 0; i < n; i++) {
    const candidate = validators[(start + i) % n]!
    if (!passOver.includes(candidate.id)) {
      start = (start + i) % n
      break
    }
  }
  return validators[(start + round) % n]!.id
}

/** The validators of `validators` that did not sign `signers` (the previous block's last commit). */
export function missingFrom(
  validators: readonly Validator[],
  signers: readonly NodeId[] | null,
): NodeId[] {
  if (signers === null) return []
  const signed = new Set(signers)
  return validators.filter((v) => !signed.has(v.id)).map((v) => v.id)
}
