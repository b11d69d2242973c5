/**
 * The round log's failed rounds, fed the real consensus machine's states as the node feeds them:
 * each round that ended without a decision, the step the node left it from, its proposer, and
 * why, from what the node held of the round when it moved on.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { initialState, ROUNDS_BEHIND, step } from '../../../core/consensus/machine.ts'
import type { ConsensusState, Input } from '../../../core/consensus/types.ts'
import { MAX_FAILED, RoundLog } from '../../../core/node/rounds.ts'
import { Cluster } from '../consensus/harness.ts'

/** Validator 0's machine at height 1 of three (crash mode), and its log. */
function setup() {
  const c = new Cluster(3, 'crash')
  const log = new RoundLog(0, (id) => c.nameOf(id))
  let s: ConsensusState = initialState(c.config(0))
  const feed = (...inputs: Input[]) => {
    for (const input of inputs) {
      s = step(s, input).state
      log.observe(s)
    }
  }
  feed(c.start())
  return { c, log, feed, state: () => s }
}

describe('the round log', () => {
  it('records each failed round with its step, proposer and reason, and hands them to the record', () => {
    const { c, log, feed, state } = setup()
    // Round 0 (v1 proposes): nothing comes; a quorum prevotes and precommits nil.
    feed(c.timeout('propose', 0), c.prevote(1, 0, null), c.precommit(1, 0, null))
    assert.equal(state().round, 1)
    // Round 1 (v2 proposes A): v0 prevotes A, v1 nil; no polka, the prevote timeout, nil.
    feed(
      c.proposal(2, 1, 'A'),
      c.prevote(1, 1, null),
      c.timeout('prevote', 1),
      c.precommit(1, 1, null),
    )
    assert.equal(state().round, 2)
    // Round 2 (v0 proposes B): a polka for B, but only v0 precommits it; v2 precommits nil.
    feed(c.value(2, 'B'), c.prevote(1, 2, 'B'), c.precommit(2, 2, null))
    assert.equal(state().step, 'precommit')
    feed(c.timeout('precommit', 2))
    assert.equal(state().round, 3)
    // Round 3 (v1): two validators are heard from round 6, so v0 goes there at once.
    feed(c.prevote(1, 6, null), c.prevote(2, 6, null))
    assert.equal(state().round, 6)

    const expected = [
      {
        round: 0,
        step: 'precommit',
        stalled: 'propose',
        proposer: c.id(1),
        reason: 'no proposal from v1 in time',
      },
      {
        round: 1,
        step: 'precommit',
        stalled: 'prevote',
        proposer: c.id(2),
        reason:
          'prevotes did not reach a quorum for one block (1 for a block, 1 nil, 1 not received, of 3)',
      },
      {
        round: 2,
        step: 'precommit',
        stalled: 'precommit',
        proposer: c.id(0),
        reason: 'precommits did not reach a quorum (1 for a block, 1 nil, 1 not received, of 3)',
      },
      {
        round: 3,
        step: 'propose',
        stalled: 'propose',
        proposer: c.id(1),
        reason: 'no proposal from v1 in time; the others had moved on to round 6',
      },
      {
        round: 4,
        step: null,
        stalled: 'propose',
        proposer: c.id(2),
        reason: 'skipped: the others had moved on to round 6',
      },
      {
        round: 5,
        step: null,
        stalled: 'propose',
        proposer: c.id(0),
        reason: 'skipped: the others had moved on to round 6',
      },
    ]
    assert.deepEqual(log.failedAt(1), expected)
    assert.deepEqual(log.failedAt(2), [], 'only the height being decided has them')

    log.committed(c.block('A'), 6, false, 10)
    const [record] = log.recent()
    assert.equal(record?.height, 1)
    assert.equal(record?.round, 6)
    assert.deepEqual(record?.failed, expected)
    assert.deepEqual(log.failedAt(1), [], 'the height is decided')
  })

  it(`judges a round left by a jump past ROUNDS_BEHIND (${ROUNDS_BEHIND}) from what it held there`, () => {
    const { c, log, feed, state } = setup()
    // Round 0 (v1 proposes A): v0 prevotes A, v1 nil; no polka, so no lock keeps the round.
    feed(c.proposal(1, 0, 'A'), c.prevote(1, 0, null))
    assert.equal(state().round, 0)
    assert.ok(state().rounds.get(0)?.proposal, 'the proposal is held')
    // Two validators are heard from far above: v0 goes there at once, and the new state no
    // longer holds round 0.
    const far = ROUNDS_BEHIND + 4
    feed(c.prevote(1, far, null), c.prevote(2, far, null))
    assert.equal(state().round, far)
    assert.equal(state().rounds.has(0), false, 'the machine pruned round 0')
    const [left] = log.failedAt(1)
    assert.deepEqual(left, {
      round: 0,
      step: 'prevote',
      stalled: 'prevote',
      proposer: c.id(1),
      reason: `prevotes did not reach a quorum for one block (1 for a block, 1 nil, 1 not received, of 3); the others had moved on to round ${far}`,
    })
  })

  it('counts the rounds up to one decided before the node got there', () => {
    const { c, log } = setup()
    // Still in round 0 when the commit of round 2 arrives (by one message, seen as one step).
    log.committed(c.block('A'), 2, false, 10)
    assert.deepEqual(
      log.recent()[0]?.failed.map((f) => [f.round, f.step, f.reason]),
      [
        [0, 'propose', 'no proposal from v1 in time; the others decided the height in round 2'],
        [1, null, 'skipped: the others decided the height in round 2'],
      ],
    )
  })

  it('leaves out rounds at or after the deciding one', () => {
    const { c, log, feed } = setup()
    feed(c.timeout('propose', 0), c.prevote(1, 0, null), c.precommit(1, 0, null))
    assert.equal(log.failedAt(1).length, 1)
    // Late precommits of round 0 decide it after the node has moved on.
    log.committed(c.block('A'), 0, false, 10)
    assert.deepEqual(log.recent()[0]?.failed, [])
  })

  it('gives a height learnt by sync no failed rounds', () => {
    const { c, log, feed } = setup()
    feed(c.timeout('propose', 0), c.prevote(1, 0, null), c.precommit(1, 0, null))
    log.committed(c.block('A'), 3, true, 10)
    assert.equal(log.recent()[0]?.outcome, 'synced')
    assert.deepEqual(log.recent()[0]?.failed, [])
  })

  it(`keeps the last ${MAX_FAILED} failed rounds of a height`, () => {
    const { c, log, state } = setup()
    log.observe({ ...state(), round: 1000 })
    const failed = log.failedAt(1)
    assert.equal(failed.length, MAX_FAILED)
    assert.equal(failed[0]?.round, 1000 - MAX_FAILED)
    assert.equal(failed.at(-1)?.round, 999)
    log.committed(c.block('A'), 1000, false, 10)
    assert.equal(log.recent()[0]?.failed.length, MAX_FAILED)
  })

  it('keeps the last 100 heights', () => {
    const { c, log } = setup()
    for (let i = 0; i < 130; i++) log.committed(c.block('A'), 0, false, i)
    assert.equal(log.recent().length, 100)
  })
})
