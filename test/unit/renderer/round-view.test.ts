import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FailedRound, RoundsView } from '../../../core/api/types.ts'
import {
  applyRoundEvent,
  compareRound,
  durationText,
  failedLines,
  failedText,
  outcomeText,
  tallyText,
  tallyVotes,
  voteCell,
} from '../../../renderer/src/state/round-view.ts'

const view: RoundsView = {
  height: 10,
  round: 0,
  step: 'prevote',
  proposer: 'a',
  votes: [
    {
      validator: 'a',
      prevote: 'block',
      precommit: null,
      prevoteFor: 'ff00ee11aa',
      precommitFor: null,
    },
    { validator: 'b', prevote: 'nil', precommit: null, prevoteFor: null, precommitFor: null },
    { validator: 'c', prevote: null, precommit: null, prevoteFor: null, precommitFor: null },
  ],
  recent: [],
  failed: [
    {
      round: 0,
      step: 'precommit',
      stalled: 'propose',
      proposer: 'a',
      reason: 'no proposal from a in time',
    },
  ],
}

test('a step within the same round moves the headline and keeps the votes', () => {
  const v = applyRoundEvent(view, { height: 10, round: 0, step: 'precommit', proposer: 'a' })
  assert.equal(v.step, 'precommit')
  assert.equal(v.votes, view.votes)
})

test('a new round clears the votes shown, so old votes never sit under the new round', () => {
  const v = applyRoundEvent(view, { height: 10, round: 1, step: 'propose', proposer: 'b' })
  assert.equal(v.round, 1)
  assert.equal(v.proposer, 'b')
  assert.ok(v.votes.every((x) => x.prevote === null && x.precommit === null))
  assert.deepEqual(
    v.votes.map((x) => x.validator),
    ['a', 'b', 'c'],
  )
  assert.equal(v.failed, view.failed)
})

test("a new height drops the last height's failed rounds", () => {
  const v = applyRoundEvent(view, { height: 11, round: 0, step: 'propose', proposer: 'c' })
  assert.deepEqual(v.failed, [])
})

test('rounds compare by height, then round', () => {
  assert.ok(compareRound({ height: 10, round: 3 }, { height: 11, round: 0 }) < 0)
  assert.ok(compareRound({ height: 11, round: 1 }, { height: 11, round: 0 }) > 0)
  assert.equal(compareRound({ height: 11, round: 1 }, { height: 11, round: 1 }), 0)
})

test('vote cells say in words whether a vote was for a block, nil, or not yet received', () => {
  assert.deepEqual(voteCell('block', 'ff00ee11aa'), {
    text: 'for block ff00ee11',
    spoken: 'for block ff00ee11',
    tone: 'ok',
  })
  assert.equal(voteCell('nil', null).text, 'nil')
  assert.deepEqual(voteCell(null, null), { text: '—', spoken: 'no vote yet', tone: 'idle' })
})

test('votes are counted per kind', () => {
  assert.deepEqual(tallyVotes(view.votes, 'prevote'), { block: 1, nil: 1, none: 1 })
  assert.equal(tallyText(tallyVotes(view.votes, 'precommit')), '0 for a block, 0 nil, 3 not yet')
})

test('the outcome says the deciding round, or that the height came by sync', () => {
  assert.equal(outcomeText({ outcome: 'committed', round: 0 }), 'committed in round 0')
  assert.equal(outcomeText({ outcome: 'synced', round: 2 }), 'synced from a peer')
})

test('durations read as ms under a second, seconds, then minutes', () => {
  assert.equal(durationText(850), '850 ms')
  assert.equal(durationText(1240), '1.24 s')
  assert.equal(durationText(12_340), '12.3 s')
  assert.equal(durationText(125_000), '2 min 5 s')
})

const timedOut: FailedRound = {
  round: 0,
  step: 'precommit',
  stalled: 'propose',
  proposer: 'b',
  reason: 'no proposal from bob in time',
}

test('a round that timed out says where it stalled, why, and which round came next', () => {
  assert.equal(
    failedText(timedOut, 1),
    'round 0 timed out at propose — no proposal from bob in time; moved to round 1',
  )
})

test('a round left to follow the others does not claim a timeout', () => {
  const f: FailedRound = {
    ...timedOut,
    stalled: 'prevote',
    reason:
      'prevotes did not reach a quorum for one block (1 for a block, 2 not received, of 3); the others had moved on to round 3',
  }
  assert.equal(
    failedText(f, 3),
    'round 0 ended at prevote — prevotes did not reach a quorum for one block (1 for a block, 2 not received, of 3); the others had moved on to round 3',
  )
})

test('a skipped round says it was skipped', () => {
  const f: FailedRound = {
    ...timedOut,
    round: 1,
    step: null,
    reason: 'skipped: the others had moved on to round 3',
  }
  assert.equal(failedText(f, 2), 'round 1 skipped: the others had moved on to round 3')
})

test('each failed round is followed by the next failed round, the last by the deciding round', () => {
  const lines = failedLines([timedOut, { ...timedOut, round: 1 }], 2)
  assert.match(lines[0] ?? '', /moved to round 1$/)
  assert.match(lines[1] ?? '', /moved to round 2$/)
})
