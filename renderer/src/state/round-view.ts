/** The Consensus screen's words: votes, outcomes and failed rounds as people read them. */
import type {
  FailedRound,
  RoundRecord,
  RoundsView,
  Step,
  ValidatorVotes,
  VoteMark,
} from '../../../core/api/types.ts'
import type { Tone } from './peer-state.ts'

export interface RoundEvent {
  readonly height: number
  readonly round: number
  readonly step: Step
  readonly proposer: string
}

/** Height then round: the order consensus moves in. */
export function compareRound(
  a: Pick<RoundEvent, 'height' | 'round'>,
  b: Pick<RoundEvent, 'height' | 'round'>,
): number {
  return a.height - b.height || a.round - b.round
}

/**
 * The view after a round event, before the node is asked again: the headline moves at once, and
 * a new round or height starts with no votes (showing the last round's votes under the new
 * round's number would say something false for the moment until the answer comes).
 */
export function applyRoundEvent(view: RoundsView, e: RoundEvent): RoundsView {
  const moved = compareRound(view, e) !== 0
  return {
    ...view,
    height: e.height,
    round: e.round,
    step: e.step,
    proposer: e.proposer,
    votes: moved
      ? view.votes.map((v) => ({
          validator: v.validator,
          prevote: null,
          precommit: null,
          prevoteFor: null,
          precommitFor: null,
        }))
      : view.votes,
    failed: view.height === e.height ? view.failed : [],
  }
}

export interface VoteCell {
  /** "for block 3f9a01bc", "nil", or "—" with `spoken` "no vote yet". */
  readonly text: string
  readonly spoken: string
  readonly tone: Tone
}

export function voteCell(mark: VoteMark, hash: string | null): VoteCell {
  if (mark === 'block') {
    const text = hash === null ? 'for a block' : `for block ${hash.slice(0, 8)}`
    return { text, spoken: text, tone: 'ok' }
  }
  if (mark === 'nil') return { text: 'nil', spoken: 'nil', tone: 'warn' }
  return { text: '—', spoken: 'no vote yet', tone: 'idle' }
}

export interface VoteTally {
  readonly block: number
  readonly nil: number
  readonly none: number
}

export function tallyVotes(
  votes: readonly ValidatorVotes[],
  kind: 'prevote' | 'precommit',
): VoteTally {
  let block = 0
  let nil = 0
  let none = 0
  for (const v of votes) {
    const m = v[kind]
    if (m === 'block') block++
    else if (m === 'nil') nil++
    else none++
  }
  return { block, nil, none }
}

/** "2 for a block, 0 nil, 1 not yet". */
export function tallyText(t: VoteTally): string {
  return `${t.block} for a block, ${t.nil} nil, ${t.none} not yet`
}

/** What the step means while the node is in it. */
export function stepHint(step: Step): string {
  switch (step) {
    case 'idle':
      return 'waiting to start the height'
    case 'propose':
      return "waiting for the proposer's block"
    case 'prevote':
      return 'collecting prevotes'
    case 'precommit':
      return 'collecting precommits'
    case 'decided':
      return 'decided, writing the block'
  }
}

/** "committed in round 0", "synced from a peer". */
export function outcomeText(r: Pick<RoundRecord, 'outcome' | 'round'>): string {
  return r.outcome === 'synced' ? 'synced from a peer' : `committed in round ${r.round}`
}

/** "850 ms", "1.24 s", "2 min 5 s". */
export function durationText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)} min ${s % 60} s`
}

/**
 * "round 0 timed out at propose — no proposal from bob in time; moved to round 1". `next` is the
 * round the node went on to: the next failed round, or the deciding (or current) round. The node
 * reports the step that did not complete (`stalled`), which says more than the step its timeouts
 * had carried it to. When it followed the others rather than its own timeouts, the reason already
 * says where they were.
 */
export function failedText(f: FailedRound, next: number): string {
  if (f.step === null) return `round ${f.round} ${f.reason}`
  const followed = f.reason.includes('the others')
  const verb = followed ? 'ended' : 'timed out'
  const tail = followed ? '' : `; moved to round ${next}`
  return `round ${f.round} ${verb} at ${f.stalled} — ${f.reason}${tail}`
}

/** Each failed round with the round the node went on to after it. */
export function failedLines(failed: readonly FailedRound[], after: number): string[] {
  return failed.map((f, i) => failedText(f, failed[i + 1]?.round ?? after))
}
