/**
 * Step tables for the Tendermint machine (core/consensus/machine.ts), in the style of
 * malachite's driver tests. Each row feeds one input and states the effects and state after it;
 * `run` also checks on every row that the input state is not mutated and that every newly signed
 * message is persisted before it is broadcast.
 *
 * At height 1 the proposers are, by round: v1, v2, v3, v0 with four validators, and v1, v2, v0
 * with three. Blocks are named A, B, C.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  initialState,
  proposerOf,
  ROUNDS_AHEAD,
  ROUNDS_BEHIND,
  step,
  wouldKeep,
} from '../../../core/consensus/machine.ts'
import {
  type ConsensusState,
  type Effect,
  type Input,
  MAX_ROUND,
  type Transition,
  type WalRecord,
} from '../../../core/consensus/types.ts'
import { commitError, Verifier } from '../../../core/ledger/index.ts'
import type { Row } from './harness.ts'
import {
  asksForValue,
  Cluster,
  checkInvariants,
  decides,
  outsider,
  persists,
  proposes,
  reportsEquivocation,
  run,
  schedules,
  sends,
  snapshot,
} from './harness.ts'

const byz4 = new Cluster(4, 'byzantine')
const crash4 = new Cluster(4, 'crash')
const crash3 = new Cluster(3, 'crash')
const byz3 = new Cluster(3, 'byzantine')

const work: Input = { type: 'work' }
const OTHER_LEDGER = 'ee'.repeat(32)
const verifier = new Verifier()

/** The proposers the tables assume, checked once against the machine's own view. */
function assertProposers(c: Cluster, expected: readonly number[]): void {
  const s = step(initialState(c.config(0)), c.start()).state
  assert.deepEqual(
    expected.map((_, round) => c.nameOf(proposerOf(s, round))),
    expected.map((who) => `v${who}`),
  )
}

/** The decide effect of a transition: its block and a commit that verifies for the cluster. */
function assertValidDecision(c: Cluster, t: Transition, block: string): void {
  const d = t.effects.find((e) => e.type === 'decide')
  assert.ok(d !== undefined && d.type === 'decide', 'a decide effect')
  assert.deepStrictEqual(d.block, c.block(block))
  assert.equal(d.commit.blockHash, c.hash(block))
  assert.equal(commitError(verifier, d.commit, c.validators, c.model, c.ledger), null)
}

test("proposerOf: at height 1 the machine's proposers rotate v1, v2, v3, v0 (four validators) and v1, v2, v0 (three)", () => {
  assertProposers(byz4, [1, 2, 3, 0])
  assertProposers(crash3, [1, 2, 0])
})

// L11–L21

test('L11–L19, L22: the round-0 proposer asks for a value, persists its proposal (polRound -1) before broadcasting it, and prevotes it', () => {
  const c = byz4
  run(c, 1, [
    {
      desc: 'start-height: v1 proposes round 0, so it asks for a value and starts timeoutPropose',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), asksForValue(0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'a value for another round is not proposed',
      input: c.value(1, 'B'),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'the value: persist the proposal, broadcast it, then prevote it (persisted first too)',
      input: c.value(0, 'A'),
      effects: [
        persists({ step: 'propose', proposals: ['r0 A pol -1'], votes: [] }),
        proposes(0, 'A', -1),
        persists({ step: 'prevote', proposals: ['r0 A pol -1'], votes: ['prevote r0 A'] }),
        sends('prevote', 0, 'A'),
      ],
      state: { round: 0, step: 'prevote' },
      check: (t) => {
        const p = t.effects.find((e) => e.type === 'broadcast-proposal')
        assert.ok(p?.type === 'broadcast-proposal')
        assert.deepStrictEqual(p.proposal.block, c.block('A'))
        assert.equal(p.proposal.proposal.proposer, c.id(1))
      },
    },
    {
      desc: 'a second value for the round is ignored: one proposal per round',
      input: c.value(0, 'B'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
  ])
})

test('round 0 passes over a validator missing from the last commit: the next one proposes and the skipped one is not heard', () => {
  const c = byz4
  run(c, 2, [
    {
      desc: 'v1 is passed over, so v2 proposes round 0',
      input: c.start({ passOver: [1] }),
      effects: [schedules('rebroadcast', 0), asksForValue(0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'a proposal from v1 for round 0 is not from the proposer',
      input: c.proposal(1, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
  ])
})

// L22–L27, L57

test('L22–L27: a non-proposer prevotes a valid proposal, and a late timeoutPropose does nothing (L57 checks step)', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height: v0 does not propose round 0',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: "v1's valid proposal: prevote it",
      input: c.proposal(1, 0, 'A'),
      effects: [persists({ votes: ['prevote r0 A'] }), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'timeoutPropose after prevoting: nothing (step is no longer propose)',
      input: c.timeout('propose', 0),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
  ])
})

test('L22–L27: a non-proposer prevotes nil for an invalid proposal', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: "v1's proposal, found invalid: prevote nil",
      input: c.proposal(1, 0, 'A', { valid: false }),
      effects: [persists({ votes: ['prevote r0 nil'] }), sends('prevote', 0, null)],
      state: { round: 0, step: 'prevote' },
    },
  ])
})

test('L57: timeoutPropose of the current round prevotes nil; of another round, or once prevoted, it does nothing', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'timeoutPropose of round 1: not this round',
      input: c.timeout('propose', 1),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'timeoutPropose of another height',
      input: c.timeout('propose', 0, 2),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'timeoutPropose of round 0: prevote nil',
      input: c.timeout('propose', 0),
      effects: [persists({ votes: ['prevote r0 nil'] }), sends('prevote', 0, null)],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'the proposal arrives late: already prevoted, nothing new is signed',
      input: c.proposal(1, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
  ])
})

// L34–L46, L61

test('L36: a quorum of prevotes for the proposed block locks it, sets validValue and validRound, and precommits it, once', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v1: 2 of 4, no quorum',
      input: c.prevote(1, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v2: 3 of 4, lock A, valid A, persist them with the polka, precommit A',
      input: c.prevote(2, 0, 'A'),
      effects: [
        persists({
          step: 'precommit',
          lockedRound: 0,
          lockedBlock: 'A',
          validRound: 0,
          validBlock: 'A',
          validPolka: ['v0 prevote r0 A', 'v1 prevote r0 A', 'v2 prevote r0 A'],
          votes: ['prevote r0 A', 'precommit r0 A'],
        }),
        sends('precommit', 0, 'A'),
      ],
      state: {
        round: 0,
        step: 'precommit',
        lockedRound: 0,
        lockedBlock: 'A',
        validRound: 0,
        validBlock: 'A',
      },
    },
    {
      desc: 'prevote A from v3: L36 has fired for this round',
      input: c.prevote(3, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
    },
  ])
})

test('L44: a quorum of prevotes for nil precommits nil without locking', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'timeoutPropose: prevote nil',
      input: c.timeout('propose', 0),
      effects: [persists(), sends('prevote', 0, null)],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v1: 2 of 4',
      input: c.prevote(1, 0, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v2: 3 of 4, precommit nil',
      input: c.prevote(2, 0, null),
      effects: [
        persists({ lockedRound: -1, votes: ['prevote r0 nil', 'precommit r0 nil'] }),
        sends('precommit', 0, null),
      ],
      state: { round: 0, step: 'precommit', lockedBlock: null, validBlock: null },
    },
    {
      desc: 'prevote nil from v3: already precommitted',
      input: c.prevote(3, 0, null),
      effects: [],
      state: { round: 0, step: 'precommit' },
    },
  ])
})

test('L34, L61: any quorum of prevotes schedules timeoutPrevote exactly once, and its firing precommits nil', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v1: 2 voters of 4',
      input: c.prevote(1, 0, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote B from v2: 3 voters (A, nil, B), no value has a quorum: schedule timeoutPrevote',
      input: c.prevote(2, 0, 'B'),
      effects: [schedules('prevote', 0)],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v3: still no value with a quorum, and timeoutPrevote is not scheduled again',
      input: c.prevote(3, 0, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'timeoutPrevote of round 1: not this round',
      input: c.timeout('prevote', 1),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'timeoutPrevote of round 0: precommit nil',
      input: c.timeout('prevote', 0),
      effects: [
        persists({ votes: ['prevote r0 A', 'precommit r0 nil'] }),
        sends('precommit', 0, null),
      ],
      state: { round: 0, step: 'precommit' },
    },
    {
      desc: 'timeoutPrevote again: step is precommit now, nothing',
      input: c.timeout('prevote', 0),
      effects: [],
      state: { round: 0, step: 'precommit' },
    },
  ])
})

// L47–L54, L65

test('L49: a quorum of precommits for a valid block decides it, with a commit made of those precommits', () => {
  const c = byz4
  const { transitions } = run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v1',
      input: c.prevote(1, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v2: lock and precommit A',
      input: c.prevote(2, 0, 'A'),
      effects: [persists(), sends('precommit', 0, 'A')],
      state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'precommit A from v1: 2 of 4',
      input: c.precommit(1, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'precommit A from v2: 3 of 4, decide A with the precommits of v0, v1 and v2',
      input: c.precommit(2, 0, 'A'),
      effects: [decides(0, 'A', ['v0', 'v1', 'v2'])],
      state: { round: 0, step: 'decided', lockedRound: 0, validRound: 0 },
      check: (t, before) => {
        assertValidDecision(c, t, 'A')
        const d = t.effects[0]
        assert.ok(d?.type === 'decide')
        const own = before.ownVotes.find((v) => v.vote.type === 'precommit')
        assert.deepStrictEqual(
          d.commit.signatures.map((s) => s.signature),
          [
            own!.signature,
            c.precommit(1, 0, 'A').vote.signature,
            c.precommit(2, 0, 'A').vote.signature,
          ],
          'the commit carries exactly the signatures of the precommits that decided',
        )
      },
    },
    {
      desc: 'precommit A from v3 after deciding: nothing',
      input: c.precommit(3, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'decided', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'timeoutPrecommit after deciding: nothing',
      input: c.timeout('precommit', 0),
      effects: [],
      state: { round: 0, step: 'decided', lockedRound: 0, validRound: 0 },
    },
  ])
  assert.equal(transitions.flatMap((t) => t.effects).filter((e) => e.type === 'decide').length, 1)
})

test('L49: precommits of an earlier round decide even after the node moved on to a later round', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'timeoutPropose: prevote nil',
      input: c.timeout('propose', 0),
      effects: [persists(), sends('prevote', 0, null)],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v2 in round 1: one validator of 4 is not more than a third',
      input: c.prevote(2, 1, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v3 in round 1: two of 4, skip to round 1 (L55)',
      input: c.prevote(3, 1, null),
      effects: [schedules('propose', 1)],
      state: { round: 1, step: 'propose' },
    },
    {
      desc: 'the round-0 proposal of A arrives late: nothing to do in round 1',
      input: c.proposal(1, 0, 'A'),
      effects: [],
      state: { round: 1, step: 'propose' },
    },
    {
      desc: 'precommit A of round 0 from v1',
      input: c.precommit(1, 0, 'A'),
      effects: [],
      state: { round: 1, step: 'propose' },
    },
    {
      desc: 'precommit A of round 0 from v2',
      input: c.precommit(2, 0, 'A'),
      effects: [],
      state: { round: 1, step: 'propose' },
    },
    {
      desc: 'precommit A of round 0 from v3: a quorum in round 0, decide A at round 0',
      input: c.precommit(3, 0, 'A'),
      effects: [decides(0, 'A', ['v1', 'v2', 'v3'])],
      state: { round: 1, step: 'decided' },
      check: (t) => assertValidDecision(c, t, 'A'),
    },
  ])
})

test('L49: a quorum of precommits for a block the node never saw does not decide until the block arrives, valid', () => {
  const c = byz4
  const prefix: Row[] = [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'precommit A from v1 (A unknown)',
      input: c.precommit(1, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'precommit A from v2',
      input: c.precommit(2, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'precommit A from v3: a quorum for a block never seen, no decision (only L47 fires)',
      input: c.precommit(3, 0, 'A'),
      effects: [schedules('precommit', 0)],
      state: { round: 0, step: 'propose' },
    },
  ]
  run(c, 0, [
    ...prefix,
    {
      desc: 'the proposal of A arrives, valid: the same precommits decide it',
      input: c.proposal(1, 0, 'A'),
      effects: [decides(0, 'A', ['v1', 'v2', 'v3'])],
      state: { round: 0, step: 'decided' },
      check: (t) => assertValidDecision(c, t, 'A'),
    },
  ])
  run(c, 0, [
    ...prefix,
    {
      desc: 'the proposal of A arrives, invalid here: no decision, prevote nil',
      input: c.proposal(1, 0, 'A', { valid: false }),
      effects: [persists(), sends('prevote', 0, null)],
      state: { round: 0, step: 'prevote' },
    },
  ])
})

test('L49: after an equivocating proposer showed it A, a quorum of precommits for its other proposal B decides B', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: "v1's proposal A reaches v0 first: prevote A",
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: "v1's other proposal B (sent to v2 and v3): equivocation",
      input: c.proposal(1, 0, 'B'),
      effects: [reportsEquivocation('v1', 0, 'proposal')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'precommit B from v1',
      input: c.precommit(1, 0, 'B'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'precommit B from v2',
      input: c.precommit(2, 0, 'B'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'precommit B from v3: B was proposed by the round proposer, valid, with a quorum of precommits: decide B',
      input: c.precommit(3, 0, 'B'),
      effects: [decides(0, 'B', ['v1', 'v2', 'v3'])],
      state: { round: 0, step: 'decided' },
    },
  ])
})

test('L47, L65: any quorum of precommits schedules timeoutPrecommit once, and its firing starts the next round', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'timeoutPropose: prevote nil',
      input: c.timeout('propose', 0),
      effects: [persists(), sends('prevote', 0, null)],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'precommit nil from v1',
      input: c.precommit(1, 0, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'precommit A from v2',
      input: c.precommit(2, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'precommit B from v3: 3 precommitters of 4, mixed values: schedule timeoutPrecommit',
      input: c.precommit(3, 0, 'B'),
      effects: [schedules('precommit', 0)],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v1',
      input: c.prevote(1, 0, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v2: precommit nil (L44); with it 4 precommitters, but no second timeoutPrecommit',
      input: c.prevote(2, 0, null),
      effects: [persists(), sends('precommit', 0, null)],
      state: { round: 0, step: 'precommit' },
    },
    {
      desc: 'timeoutPrecommit of round 1: not this round',
      input: c.timeout('precommit', 1),
      effects: [],
      state: { round: 0, step: 'precommit' },
    },
    {
      desc: 'timeoutPrecommit of round 0: start round 1 (v2 proposes)',
      input: c.timeout('precommit', 0),
      effects: [schedules('propose', 1)],
      state: { round: 1, step: 'propose' },
    },
    {
      desc: 'timeoutPrecommit of round 0 again: stale',
      input: c.timeout('precommit', 0),
      effects: [],
      state: { round: 1, step: 'propose' },
    },
  ])
})

test('round certificate: the precommits that moved a node to the next round are persisted with its next vote and re-sent, also after a restart', () => {
  const c = byz4
  let record: WalRecord | undefined
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'timeoutPropose: prevote nil',
      input: c.timeout('propose', 0),
      effects: [persists(), sends('prevote', 0, null)],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'precommit nil from v1',
      input: c.precommit(1, 0, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'precommit nil from v2',
      input: c.precommit(2, 0, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'precommit nil from v3: a quorum of nil precommits, round 1 at once, keeping the three precommits that justify it',
      input: c.precommit(3, 0, null),
      effects: [schedules('propose', 1)],
      state: { round: 1, step: 'propose' },
      check: (t) => assert.equal(t.state.roundCertificate.length, 3),
    },
    {
      desc: 'timeoutPropose of round 1: prevote nil, persisted with the certificate',
      input: c.timeout('propose', 1),
      effects: [persists(), sends('prevote', 1, null)],
      state: { round: 1, step: 'prevote' },
      check: (t) => {
        const p = t.effects[0]
        assert.ok(p?.type === 'persist')
        assert.deepStrictEqual(p.wal.roundCertificate, t.state.roundCertificate)
        record = p.wal
      },
    },
    {
      desc: 'rebroadcast: own votes, then the precommits of round 0 from v1, v2, v3',
      input: c.timeout('rebroadcast', 0),
      effects: [
        sends('prevote', 0, null),
        sends('prevote', 1, null),
        sends('precommit', 0, null, 'v1'),
        sends('precommit', 0, null, 'v2'),
        sends('precommit', 0, null, 'v3'),
        schedules('rebroadcast', 0),
      ],
      state: { round: 1, step: 'prevote' },
    },
  ])
  assert.ok(record !== undefined)
  run(c, 0, [
    {
      desc: 'restart from that record: resume round 1',
      input: c.start({ wal: record }),
      effects: [schedules('rebroadcast', 0), schedules('propose', 1)],
      state: { round: 1, step: 'propose' },
    },
    {
      desc: 'rebroadcast after the restart still carries the certificate',
      input: c.timeout('rebroadcast', 0),
      effects: [
        sends('prevote', 0, null),
        sends('prevote', 1, null),
        sends('precommit', 0, null, 'v1'),
        sends('precommit', 0, null, 'v2'),
        sends('precommit', 0, null, 'v3'),
        schedules('rebroadcast', 0),
      ],
      state: { round: 1, step: 'propose' },
    },
  ])
})

// L22, L28–L33: locks

test('L22–L33: a node locked on A prevotes nil for B proposed with polRound -1, but prevotes B re-proposed with a polka at a round >= its lockedRound', () => {
  const c = byz4
  const locked = { lockedRound: 0, validRound: 0 } as const
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v1',
      input: c.prevote(1, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v2: lock A in round 0',
      input: c.prevote(2, 0, 'A'),
      effects: [persists({ lockedRound: 0, lockedBlock: 'A' }), sends('precommit', 0, 'A')],
      state: { round: 0, step: 'precommit', ...locked, lockedBlock: 'A' },
    },
    {
      desc: 'precommit nil from v1',
      input: c.precommit(1, 0, null),
      effects: [],
      state: { round: 0, step: 'precommit', ...locked },
    },
    {
      desc: 'precommit nil from v2: schedule timeoutPrecommit',
      input: c.precommit(2, 0, null),
      effects: [schedules('precommit', 0)],
      state: { round: 0, step: 'precommit', ...locked },
    },
    {
      desc: 'timeoutPrecommit: round 1, still locked on A',
      input: c.timeout('precommit', 0),
      effects: [schedules('propose', 1)],
      state: { round: 1, step: 'propose', ...locked, lockedBlock: 'A' },
    },
    {
      desc: 'v2 proposes B with polRound -1: locked on A, prevote nil',
      input: c.proposal(2, 1, 'B'),
      effects: [persists(), sends('prevote', 1, null)],
      state: { round: 1, step: 'prevote', ...locked },
    },
    {
      desc: 'v3 proposes B in round 2 with polRound 1: one sender of round 2, no skip yet',
      input: c.proposal(3, 2, 'B', { polRound: 1 }),
      effects: [],
      state: { round: 1, step: 'prevote', ...locked },
    },
    {
      desc: 'prevote B from v2 in round 2: two senders of round 2, skip there; no polka of round 1 yet, so no prevote',
      input: c.prevote(2, 2, 'B'),
      effects: [schedules('propose', 2)],
      state: { round: 2, step: 'propose', ...locked },
    },
    {
      desc: 'prevote B of round 1 from v1',
      input: c.prevote(1, 1, 'B'),
      effects: [],
      state: { round: 2, step: 'propose', ...locked },
    },
    {
      desc: 'prevote B of round 1 from v2',
      input: c.prevote(2, 1, 'B'),
      effects: [],
      state: { round: 2, step: 'propose', ...locked },
    },
    {
      desc: 'prevote B of round 1 from v3: a polka for B in round 1 >= lockedRound 0, prevote B',
      input: c.prevote(3, 1, 'B'),
      effects: [persists({ lockedRound: 0, lockedBlock: 'A' }), sends('prevote', 2, 'B')],
      state: { round: 2, step: 'prevote', ...locked, lockedBlock: 'A' },
    },
  ])
})

test('L28–L33: a node locked on A in round 1 prevotes nil for B re-proposed with a polka of round 0, below its lock', () => {
  const c = byz4
  const locked = { lockedRound: 1, validRound: 1 } as const
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'v2 proposes A in round 1: one sender of round 1',
      input: c.proposal(2, 1, 'A'),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote A of round 1 from v2: still one sender (the proposer)',
      input: c.prevote(2, 1, 'A'),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote A of round 1 from v3: skip to round 1, prevote A, see the polka, lock A and precommit it',
      input: c.prevote(3, 1, 'A'),
      effects: [
        schedules('propose', 1),
        persists(),
        sends('prevote', 1, 'A'),
        persists({ lockedRound: 1, lockedBlock: 'A' }),
        sends('precommit', 1, 'A'),
      ],
      state: { round: 1, step: 'precommit', ...locked, lockedBlock: 'A' },
    },
    {
      desc: 'v3 proposes B in round 2 with polRound 0',
      input: c.proposal(3, 2, 'B', { polRound: 0 }),
      effects: [],
      state: { round: 1, step: 'precommit', ...locked },
    },
    {
      desc: 'prevote nil of round 2 from v1: skip to round 2, wait for the polka of round 0',
      input: c.prevote(1, 2, null),
      effects: [schedules('propose', 2)],
      state: { round: 2, step: 'propose', ...locked },
    },
    {
      desc: 'prevote B of round 0 from v1',
      input: c.prevote(1, 0, 'B'),
      effects: [],
      state: { round: 2, step: 'propose', ...locked },
    },
    {
      desc: 'prevote B of round 0 from v2',
      input: c.prevote(2, 0, 'B'),
      effects: [],
      state: { round: 2, step: 'propose', ...locked },
    },
    {
      desc: 'prevote B of round 0 from v3: a polka of round 0 < lockedRound 1, prevote nil',
      input: c.prevote(3, 0, 'B'),
      effects: [persists({ lockedRound: 1, lockedBlock: 'A' }), sends('prevote', 2, null)],
      state: { round: 2, step: 'prevote', ...locked, lockedBlock: 'A' },
    },
  ])
})

test('L29 boundary: a polka for B at exactly the lockedRound lets a node locked on A prevote B (lockedRound <= vr, as in the paper)', () => {
  // Two polkas in one round need more than f equivocators (v1 and v2 here), so within the fault
  // model lockedRound = vr implies the locked block; this row only pins the paper's "<=".
  const c = byz4
  const polkaA = [0, 1, 2].map((w) => c.signedVote('prevote', w, 0, 'A'))
  const wal = c.wal({
    round: 1,
    lockedRound: 0,
    lockedBlock: c.block('A'),
    validRound: 0,
    validBlock: c.block('A'),
    validPolka: polkaA,
    votes: [polkaA[0]!, c.signedVote('precommit', 0, 0, 'A')],
  })
  const locked = { lockedRound: 0, validRound: 0 } as const
  run(c, 0, [
    {
      desc: 'start-height with the WAL: round 1, locked on A since round 0',
      input: c.start({ wal }),
      effects: [schedules('rebroadcast', 0), schedules('propose', 1)],
      state: { round: 1, step: 'propose', ...locked, lockedBlock: 'A' },
    },
    {
      desc: 'v2 proposes B with polRound 0: no polka for B in round 0 yet',
      input: c.proposal(2, 1, 'B', { polRound: 0 }),
      effects: [],
      state: { round: 1, step: 'propose', ...locked },
    },
    {
      desc: 'prevote B of round 0 from v1, who prevoted A too',
      input: c.prevote(1, 0, 'B'),
      effects: [reportsEquivocation('v1', 0, 'prevote')],
      state: { round: 1, step: 'propose', ...locked },
    },
    {
      desc: 'prevote B of round 0 from v2, who prevoted A too',
      input: c.prevote(2, 0, 'B'),
      effects: [reportsEquivocation('v2', 0, 'prevote')],
      state: { round: 1, step: 'propose', ...locked },
    },
    {
      desc: 'prevote B of round 0 from v3: a polka for B at round 0 = lockedRound, prevote B',
      input: c.prevote(3, 0, 'B'),
      effects: [persists(), sends('prevote', 1, 'B')],
      state: { round: 1, step: 'prevote', ...locked, lockedBlock: 'A' },
    },
  ])
})

// L15–L16

test('L15–L16: a proposer holding a validValue re-proposes it with polRound = validRound, without asking for a value', () => {
  const c = byz4
  const locked = { lockedRound: 0, validRound: 0 } as const
  run(c, 2, [
    {
      desc: 'start-height: v2 does not propose round 0',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v0',
      input: c.prevote(0, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v1: lock and precommit A, validRound 0',
      input: c.prevote(1, 0, 'A'),
      effects: [persists(), sends('precommit', 0, 'A')],
      state: { round: 0, step: 'precommit', ...locked, validBlock: 'A' },
    },
    {
      desc: 'precommit nil from v0',
      input: c.precommit(0, 0, null),
      effects: [],
      state: { round: 0, step: 'precommit', ...locked },
    },
    {
      desc: 'precommit nil from v1: schedule timeoutPrecommit',
      input: c.precommit(1, 0, null),
      effects: [schedules('precommit', 0)],
      state: { round: 0, step: 'precommit', ...locked },
    },
    {
      desc: 'timeoutPrecommit: round 1, v2 proposes its valid value A with polRound 0 and prevotes it',
      input: c.timeout('precommit', 0),
      effects: [
        persists({ round: 1, proposals: ['r1 A pol 0'] }),
        proposes(1, 'A', 0),
        schedules('propose', 1),
        persists({ votes: ['prevote r0 A', 'precommit r0 A', 'prevote r1 A'] }),
        sends('prevote', 1, 'A'),
      ],
      state: { round: 1, step: 'prevote', ...locked },
    },
  ])
})

test('L36 in step precommit: a late polka sets and persists validValue without locking, and the node re-proposes it next round', () => {
  const c = byz4
  run(c, 2, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote B from v0',
      input: c.prevote(0, 0, 'B'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v3: 3 prevoters, schedule timeoutPrevote',
      input: c.prevote(3, 0, 'A'),
      effects: [schedules('prevote', 0)],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'timeoutPrevote: precommit nil',
      input: c.timeout('prevote', 0),
      effects: [persists(), sends('precommit', 0, null)],
      state: { round: 0, step: 'precommit' },
    },
    {
      desc: 'prevote A from v1: a polka for A while in precommit, valid A persisted, no lock',
      input: c.prevote(1, 0, 'A'),
      effects: [persists({ lockedRound: -1, lockedBlock: null, validRound: 0, validBlock: 'A' })],
      state: { round: 0, step: 'precommit', validRound: 0, lockedBlock: null, validBlock: 'A' },
    },
    {
      desc: 'precommit nil from v0',
      input: c.precommit(0, 0, null),
      effects: [],
      state: { round: 0, step: 'precommit', validRound: 0 },
    },
    {
      desc: 'precommit nil from v3: a quorum of nil precommits, so round 1 at once: re-propose A with polRound 0 and prevote it',
      input: c.precommit(3, 0, null),
      effects: [
        persists(),
        proposes(1, 'A', 0),
        schedules('propose', 1),
        persists(),
        sends('prevote', 1, 'A'),
      ],
      state: { round: 1, step: 'prevote', validRound: 0 },
    },
  ])
})

test('L65 early: a quorum of nil precommits starts the next round at once; a quorum of mixed precommits waits for timeoutPrecommit', () => {
  const c = crash3
  const toPrecommitNil = [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' as const },
    },
    {
      desc: 'timeoutPropose (the proposer crashed): prevote nil',
      input: c.timeout('propose', 0),
      effects: [persists(), sends('prevote', 0, null)],
      state: { round: 0, step: 'prevote' as const },
    },
    {
      desc: 'prevote nil from v2: a polka for nil, precommit nil (L44)',
      input: c.prevote(2, 0, null),
      effects: [persists(), sends('precommit', 0, null)],
      state: { round: 0, step: 'precommit' as const },
    },
  ]
  run(c, 0, [
    ...toPrecommitNil,
    {
      desc: 'precommit nil from v2: 2 of 3 precommitted nil, no block can be decided in round 0: round 1 now',
      input: c.precommit(2, 0, null),
      effects: [schedules('propose', 1)],
      state: { round: 1, step: 'propose' },
      check: (t) => assert.equal(t.state.roundCertificate.length, 2),
    },
  ])
  run(c, 0, [
    ...toPrecommitNil,
    {
      desc: 'precommit A from v2: a quorum of precommits but not for nil: wait for timeoutPrecommit',
      input: c.precommit(2, 0, 'A'),
      effects: [schedules('precommit', 0)],
      state: { round: 0, step: 'precommit' },
    },
  ])
})

// L55

test('L55 crash: a single vote from a higher round moves the node one round on (no faster than its own timeouts), two validators there move it there, and a lower round does not move it back', () => {
  const c = crash3
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote nil of round 2 from v2: skip, to round 1 (where v2 proposes)',
      input: c.prevote(2, 2, null),
      effects: [schedules('propose', 1)],
      state: { round: 1, step: 'propose' },
    },
    {
      desc: 'prevote nil of round 0 from v1: lower round, stay',
      input: c.prevote(1, 0, null),
      effects: [],
      state: { round: 1, step: 'propose' },
    },
    {
      desc: 'prevote nil of round 2 from v1: two validators in round 2, go there (v0 proposes)',
      input: c.prevote(1, 2, null),
      effects: [asksForValue(2), schedules('propose', 2)],
      state: { round: 2, step: 'propose' },
    },
  ])
})

test('L55 crash: a proposal alone from a higher round moves the node there and it prevotes', () => {
  const c = crash3
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A of round 1 from v2: skip to round 1 and prevote A',
      input: c.proposal(2, 1, 'A'),
      effects: [schedules('propose', 1), persists(), sends('prevote', 1, 'A')],
      state: { round: 1, step: 'prevote' },
    },
  ])
})

test('L55 byzantine: one validator from a higher round does not move the node, two of four (more than 1/3) do', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote nil of round 2 from v1: 1 of 4',
      input: c.prevote(1, 2, null),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'precommit nil of round 2 from v1: the same validator again, still 1 of 4',
      input: c.precommit(1, 2, null),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote nil of round 2 from v2: 2 of 4, skip to round 2',
      input: c.prevote(2, 2, null),
      effects: [schedules('propose', 2)],
      state: { round: 2, step: 'propose' },
    },
  ])
})

// Thresholds

/** Prevotes then precommits for A, one at a time; `need` is the quorum in validators. */
function quorumTable(c: Cluster, need: number): Row[] {
  const n = c.validators.length
  const rows: Row[] = [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
  ]
  for (let k = 2; k <= need; k++) {
    const quorum = k === need
    rows.push({
      desc: `prevote A from v${k - 1}: ${k} of ${n} ${quorum ? 'is' : 'is not'} a ${c.model} quorum`,
      input: c.prevote(k - 1, 0, 'A'),
      effects: quorum ? [persists(), sends('precommit', 0, 'A')] : [],
      state: quorum
        ? { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 }
        : { round: 0, step: 'prevote' },
    })
  }
  for (let k = 2; k <= need; k++) {
    const quorum = k === need
    rows.push({
      desc: `precommit A from v${k - 1}: ${k} of ${n} ${quorum ? 'decides' : 'neither decides nor schedules timeoutPrecommit'}`,
      input: c.precommit(k - 1, 0, 'A'),
      effects: quorum
        ? [
            decides(
              0,
              'A',
              Array.from({ length: need }, (_, i) => `v${i}`),
            ),
          ]
        : [],
      state: { round: 0, step: quorum ? 'decided' : 'precommit', lockedRound: 0, validRound: 0 },
    })
  }
  return rows
}

test('thresholds are strict shares: 2 of 4 is not a crash quorum and 3 of 4 is', () => {
  run(crash4, 0, quorumTable(crash4, 3))
})

test('thresholds are strict shares: 2 of 3 is a crash quorum', () => {
  run(crash3, 0, quorumTable(crash3, 2))
})

test('thresholds are strict shares: byzantine needs 3 of 4, and 3 of 3 (2 of 3 is not more than 2/3)', () => {
  run(byz4, 0, quorumTable(byz4, 3))
  run(byz3, 0, quorumTable(byz3, 3))
})

// Sign guard and restart

test('sign guard: restored from a WAL where it prevoted A, on timeoutPropose it re-broadcasts that prevote and signs nothing new', () => {
  const c = byz4
  const prevoteA = c.signedVote('prevote', 0, 0, 'A')
  const wal = c.wal({ round: 0, step: 'prevote', votes: [prevoteA] })
  run(c, 0, [
    {
      desc: 'start-height with the WAL: resume round 0, send nothing yet',
      input: c.start({ wal }),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'timeoutPropose: would prevote nil, but it already prevoted A: repeat that exact prevote, no persist',
      input: c.timeout('propose', 0),
      effects: [sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
      check: (t) => {
        assert.deepStrictEqual(t.effects[0], { type: 'broadcast-vote', vote: prevoteA })
        assert.deepStrictEqual(t.state.ownVotes, [prevoteA], 'no new vote signed')
      },
    },
  ])
})

test('sign guard: a proposer restored after proposing re-broadcasts its proposal and prevote, and asks for no new value', () => {
  const c = byz4
  const proposal = c.signedProposal(1, 0, 'A')
  const prevoteA = c.signedVote('prevote', 1, 0, 'A')
  const wal = c.wal({ round: 0, step: 'prevote', votes: [prevoteA], proposals: [proposal] })
  run(c, 1, [
    {
      desc: 'start-height with the WAL: repeat the proposal and the prevote as signed',
      input: c.start({ wal }),
      effects: [
        schedules('rebroadcast', 0),
        proposes(0, 'A', -1),
        schedules('propose', 0),
        sends('prevote', 0, 'A'),
      ],
      state: { round: 0, step: 'prevote' },
      check: (t) => {
        assert.deepStrictEqual(t.effects[1], { type: 'broadcast-proposal', proposal })
        assert.deepStrictEqual(t.effects[3], { type: 'broadcast-vote', vote: prevoteA })
      },
    },
    {
      desc: 'a value for round 0 (say the host answered an old get-value): ignored',
      input: c.value(0, 'B'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
  ])
})

test('restart keeps the lock: restored locked on A in round 0, it prevotes nil for B proposed with polRound -1 in round 1', () => {
  const c = byz4
  const polka = [0, 1, 2].map((w) => c.signedVote('prevote', w, 0, 'A'))
  const wal = c.wal({
    round: 1,
    step: 'propose',
    lockedRound: 0,
    lockedBlock: c.block('A'),
    validRound: 0,
    validBlock: c.block('A'),
    validPolka: polka,
    votes: [polka[0]!, c.signedVote('precommit', 0, 0, 'A')],
  })
  const locked = { lockedRound: 0, validRound: 0, lockedBlock: 'A', validBlock: 'A' } as const
  run(c, 0, [
    {
      desc: 'start-height with the WAL: resume round 1, locked on A',
      input: c.start({ wal }),
      effects: [schedules('rebroadcast', 0), schedules('propose', 1)],
      state: { round: 1, step: 'propose', ...locked },
    },
    {
      desc: 'v2 proposes B with polRound -1: prevote nil',
      input: c.proposal(2, 1, 'B'),
      effects: [
        persists({ lockedRound: 0, votes: ['prevote r0 A', 'precommit r0 A', 'prevote r1 nil'] }),
        sends('prevote', 1, null),
      ],
      state: { round: 1, step: 'prevote', ...locked },
    },
  ])
})

test('restart keeps the valid value and its polka: restored as round-1 proposer, it re-proposes A with polRound 0 and prevotes it', () => {
  const c = byz4
  const polka = [0, 1, 2].map((w) => c.signedVote('prevote', w, 0, 'A'))
  const wal = c.wal({
    round: 1,
    step: 'propose',
    lockedRound: 0,
    lockedBlock: c.block('A'),
    validRound: 0,
    validBlock: c.block('A'),
    validPolka: polka,
    votes: [polka[2]!, c.signedVote('precommit', 2, 0, 'A')],
  })
  run(c, 2, [
    {
      desc: 'start-height with the WAL: round 1, v2 proposes A (pol 0) and, with the restored polka, prevotes it',
      input: c.start({ wal }),
      effects: [
        schedules('rebroadcast', 0),
        persists({ proposals: ['r1 A pol 0'] }),
        proposes(1, 'A', 0),
        schedules('propose', 1),
        persists({ votes: ['prevote r0 A', 'precommit r0 A', 'prevote r1 A'] }),
        sends('prevote', 1, 'A'),
      ],
      state: { round: 1, step: 'prevote', lockedRound: 0, validRound: 0, lockedBlock: 'A' },
    },
  ])
})

test('restored as round-1 proposer with a valid value from round 1 itself, it proposes that value with polRound -1, a proposal peers and its own record can read', () => {
  const c = byz4
  // Outside the fault model: the other three prevoted in round 1 a block its proposer never signed.
  const polka = [0, 1, 3].map((w) => c.signedVote('prevote', w, 1, 'A'))
  const wal = c.wal({
    round: 1,
    step: 'prevote',
    validRound: 1,
    validBlock: c.block('A'),
    validPolka: polka,
    votes: [],
  })
  run(c, 2, [
    {
      desc: 'start-height with the WAL: round 1, v2 proposes A with polRound -1',
      input: c.start({ wal }),
      effects: [
        schedules('rebroadcast', 0),
        persists({ proposals: ['r1 A pol -1'] }),
        proposes(1, 'A', -1),
        schedules('propose', 1),
        persists({ votes: ['prevote r1 A'] }),
        sends('prevote', 1, 'A'),
        persists({ votes: ['prevote r1 A', 'precommit r1 A'] }),
        sends('precommit', 1, 'A'),
      ],
      state: { round: 1, step: 'precommit', lockedRound: 1, validRound: 1, lockedBlock: 'A' },
    },
  ])
})

test('every broadcast of a newly signed proposal or vote comes after a persist whose record contains it', () => {
  const c = byz4
  const { newlySigned, transitions } = run(c, 1, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), asksForValue(0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'value A: proposal and prevote',
      input: c.value(0, 'A'),
      effects: [persists(), proposes(0, 'A'), persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v0',
      input: c.prevote(0, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v2: precommit A',
      input: c.prevote(2, 0, 'A'),
      effects: [persists(), sends('precommit', 0, 'A')],
      state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'precommit nil from v0',
      input: c.precommit(0, 0, null),
      effects: [],
      state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'precommit nil from v2: schedule timeoutPrecommit',
      input: c.precommit(2, 0, null),
      effects: [schedules('precommit', 0)],
      state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'timeoutPrecommit: round 1, proposed by v2',
      input: c.timeout('precommit', 0),
      effects: [schedules('propose', 1)],
      state: { round: 1, step: 'propose', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'timeoutPropose: prevote nil',
      input: c.timeout('propose', 1),
      effects: [persists(), sends('prevote', 1, null)],
      state: { round: 1, step: 'prevote', lockedRound: 0, validRound: 0 },
    },
  ])
  // run() checked each broadcast against the persists before it; make sure it saw all four.
  assert.equal(newlySigned, 4)
  for (const t of transitions) {
    t.effects.forEach((e, i) => {
      if (e.type !== 'broadcast-vote' && e.type !== 'broadcast-proposal') return
      const p = t.effects[i - 1]
      assert.equal(p?.type, 'persist', 'the effect right before a new broadcast is its persist')
    })
  }

  // And the check itself refuses a broadcast whose persist comes after it.
  const s0 = step(initialState(c.config(0)), c.start()).state
  const proposalA = c.proposal(1, 0, 'A')
  const t = step(s0, proposalA)
  const swapped: Effect[] = [...t.effects].reverse()
  assert.deepEqual(
    swapped.map((e) => e.type),
    ['broadcast-vote', 'persist'],
  )
  assert.throws(
    () => checkInvariants(c, s0, proposalA, { ...t, effects: swapped }, 'swapped'),
    /broadcast before it was persisted/,
  )
})

// Ignored inputs

test('votes and proposals of another height, another ledger or from a non-validator are ignored, as is a proposal from a validator who is not the round proposer', () => {
  // Crash mode: any one message counted from round 1 would move the node there.
  const c = crash3
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote of round 1 for height 2',
      input: c.prevote(1, 1, null, { height: 2 }),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote of round 1 for another ledger',
      input: c.prevote(1, 1, null, { ledger: OTHER_LEDGER }),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'precommit of round 1 from a non-validator',
      input: c.precommit(outsider(1), 1, null),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal of round 0 from v2, who is not its proposer',
      input: c.proposal(2, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal of round 1 from v1, who is not its proposer',
      input: c.proposal(1, 1, 'A'),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal of round 0 from v1 for height 2',
      input: c.proposal(1, 0, 'A', { height: 2 }),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal of round 0 from v1 for another ledger',
      input: c.proposal(1, 0, 'A', { ledger: OTHER_LEDGER }),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal of round 0 from v1, its proposer: prevote A',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v1 for height 2: does not make a quorum (2 of 3 would)',
      input: c.prevote(1, 0, 'A', { height: 2 }),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v1 for another ledger: no quorum',
      input: c.prevote(1, 0, 'A', { ledger: OTHER_LEDGER }),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from a non-validator: no quorum',
      input: c.prevote(outsider(1), 0, 'A'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v1: a quorum, precommit A',
      input: c.prevote(1, 0, 'A'),
      effects: [persists(), sends('precommit', 0, 'A')],
      state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
    },
  ])
})

// Equivocation

test("equivocation: a second, different vote or proposal is reported, and the equivocator's votes count for each value", () => {
  const c = byz4
  const locked = { lockedRound: 0, validRound: 0 } as const
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v2',
      input: c.prevote(2, 0, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v2 as well: equivocation',
      input: c.prevote(2, 0, 'A'),
      effects: [reportsEquivocation('v2', 0, 'prevote')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v2 again: a duplicate, not a new equivocation',
      input: c.prevote(2, 0, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: "prevote A from v3: with v2's A vote (though its nil came first), a polka: lock and precommit A",
      input: c.prevote(3, 0, 'A'),
      effects: [
        persists({
          lockedRound: 0,
          validPolka: ['v0 prevote r0 A', 'v2 prevote r0 A', 'v3 prevote r0 A'],
        }),
        sends('precommit', 0, 'A'),
      ],
      state: { round: 0, step: 'precommit', ...locked },
    },
    {
      desc: 'a second proposal from v1 for round 0, of B: equivocation',
      input: c.proposal(1, 0, 'B'),
      effects: [reportsEquivocation('v1', 0, 'proposal')],
      state: { round: 0, step: 'precommit', ...locked },
    },
    {
      desc: 'precommit nil from v3',
      input: c.precommit(3, 0, null),
      effects: [],
      state: { round: 0, step: 'precommit', ...locked },
    },
    {
      desc: 'precommit A from v3 as well: equivocation',
      input: c.precommit(3, 0, 'A'),
      effects: [reportsEquivocation('v3', 0, 'precommit')],
      state: { round: 0, step: 'precommit', ...locked },
    },
    {
      desc: "precommit A from v1: with v3's A precommit, a quorum: decide A",
      input: c.precommit(1, 0, 'A'),
      effects: [decides(0, 'A', ['v0', 'v1', 'v3'])],
      state: { round: 0, step: 'decided', ...locked },
      check: (t) => assertValidDecision(c, t, 'A'),
    },
  ])
})

// Peer lost

test('peer-lost of the current proposer while waiting in step propose prevotes nil at once; peer-lost of anyone else does nothing', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'peer-lost v2: not the proposer of round 0',
      input: c.peerLost(2),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'peer-lost v1, the proposer: prevote nil without waiting for timeoutPropose',
      input: c.peerLost(1),
      effects: [persists(), sends('prevote', 0, null)],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'peer-lost v1 again: already prevoted',
      input: c.peerLost(1),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
  ])
})

test('peer-lost of the proposer whose proposal already arrived (waiting for its polka) does nothing', () => {
  const c = byz4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'v2 proposes A in round 1 with polRound 0',
      input: c.proposal(2, 1, 'A', { polRound: 0 }),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote A of round 1 from v3: skip to round 1; no polka of round 0 yet',
      input: c.prevote(3, 1, 'A'),
      effects: [schedules('propose', 1)],
      state: { round: 1, step: 'propose' },
    },
    {
      desc: 'peer-lost v2: its proposal is here, nothing to stop waiting for',
      input: c.peerLost(2),
      effects: [],
      state: { round: 1, step: 'propose' },
    },
  ])
})

// Idle and rebroadcast

test('idle: with waitForWork, start-height waits in idle with the idle timeout, and work starts round 0', () => {
  const c = byz4
  run(
    c,
    0,
    [
      {
        desc: 'start-height: idle, schedule the idle timeout',
        input: c.start(),
        effects: [schedules('rebroadcast', 0), schedules('idle', 0)],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'timeoutPropose while idle: nothing',
        input: c.timeout('propose', 0),
        effects: [],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'peer-lost of the round-0 proposer while idle: nothing',
        input: c.peerLost(1),
        effects: [],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'work: start round 0',
        input: work,
        effects: [schedules('propose', 0)],
        state: { round: 0, step: 'propose' },
      },
      {
        desc: 'work again: nothing',
        input: work,
        effects: [],
        state: { round: 0, step: 'propose' },
      },
    ],
    { waitForWork: true },
  )
})

test('idle: the idle timeout starts round 0, and the proposer then asks for a value', () => {
  const c = byz4
  run(
    c,
    1,
    [
      {
        desc: 'start-height: idle',
        input: c.start(),
        effects: [schedules('rebroadcast', 0), schedules('idle', 0)],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'the idle timeout of another height: nothing',
        input: c.timeout('idle', 0, 2),
        effects: [],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'the idle timeout: round 0, v1 proposes it',
        input: c.timeout('idle', 0),
        effects: [asksForValue(0), schedules('propose', 0)],
        state: { round: 0, step: 'propose' },
      },
      {
        desc: 'the idle timeout again: nothing',
        input: c.timeout('idle', 0),
        effects: [],
        state: { round: 0, step: 'propose' },
      },
    ],
    { waitForWork: true },
  )
})

test('idle: a vote of this height starts round 0 (and counts); votes of another height or from outsiders do not', () => {
  const c = byz4
  run(
    c,
    0,
    [
      {
        desc: 'start-height: idle',
        input: c.start(),
        effects: [schedules('rebroadcast', 0), schedules('idle', 0)],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'prevote from v2 for height 2: still idle',
        input: c.prevote(2, 0, null, { height: 2 }),
        effects: [],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'prevote from a non-validator: still idle',
        input: c.prevote(outsider(1), 0, null),
        effects: [],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'prevote nil from v2 at this height: round 0 starts',
        input: c.prevote(2, 0, null),
        effects: [schedules('propose', 0)],
        state: { round: 0, step: 'propose' },
      },
      {
        desc: 'timeoutPropose: prevote nil',
        input: c.timeout('propose', 0),
        effects: [persists(), sends('prevote', 0, null)],
        state: { round: 0, step: 'prevote' },
      },
      {
        desc: "prevote nil from v3: with v2's waking vote, a nil quorum: precommit nil",
        input: c.prevote(3, 0, null),
        effects: [persists(), sends('precommit', 0, null)],
        state: { round: 0, step: 'precommit' },
      },
    ],
    { waitForWork: true },
  )
})

test('idle: a proposal of this height starts round 0 and is prevoted', () => {
  const c = byz4
  run(
    c,
    0,
    [
      {
        desc: 'start-height: idle',
        input: c.start(),
        effects: [schedules('rebroadcast', 0), schedules('idle', 0)],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'proposal A from v1: round 0 starts, prevote A',
        input: c.proposal(1, 0, 'A'),
        effects: [schedules('propose', 0), persists(), sends('prevote', 0, 'A')],
        state: { round: 0, step: 'prevote' },
      },
    ],
    { waitForWork: true },
  )
})

test('rebroadcast: the timeout re-sends own proposal and votes as signed, reschedules itself, and stops once decided', () => {
  const c = byz4
  const sameAsBefore = (t: Transition, before: ConsensusState) => {
    for (const e of t.effects) {
      if (e.type === 'broadcast-proposal') assert.ok(before.ownProposals.includes(e.proposal))
      if (e.type === 'broadcast-vote') assert.ok(before.ownVotes.includes(e.vote))
    }
  }
  run(
    c,
    1,
    [
      {
        desc: 'start-height: idle',
        input: c.start(),
        effects: [schedules('rebroadcast', 0), schedules('idle', 0)],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'rebroadcast while idle: nothing signed yet, reschedule',
        input: c.timeout('rebroadcast', 0),
        effects: [schedules('rebroadcast', 0)],
        state: { round: 0, step: 'idle' },
      },
      {
        desc: 'work: round 0, v1 asks for a value',
        input: work,
        effects: [asksForValue(0), schedules('propose', 0)],
        state: { round: 0, step: 'propose' },
      },
      {
        desc: 'value A: propose and prevote it',
        input: c.value(0, 'A'),
        effects: [persists(), proposes(0, 'A'), persists(), sends('prevote', 0, 'A')],
        state: { round: 0, step: 'prevote' },
      },
      {
        desc: 'rebroadcast: the proposal and the prevote again, not re-signed, not re-persisted',
        input: c.timeout('rebroadcast', 0),
        effects: [proposes(0, 'A'), sends('prevote', 0, 'A'), schedules('rebroadcast', 0)],
        state: { round: 0, step: 'prevote' },
        check: sameAsBefore,
      },
      {
        desc: 'prevote A from v2',
        input: c.prevote(2, 0, 'A'),
        effects: [],
        state: { round: 0, step: 'prevote' },
      },
      {
        desc: 'prevote A from v3: precommit A',
        input: c.prevote(3, 0, 'A'),
        effects: [persists(), sends('precommit', 0, 'A')],
        state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
      },
      {
        desc: 'rebroadcast: proposal, prevote and precommit',
        input: c.timeout('rebroadcast', 0),
        effects: [
          proposes(0, 'A'),
          sends('prevote', 0, 'A'),
          sends('precommit', 0, 'A'),
          schedules('rebroadcast', 0),
        ],
        state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
        check: sameAsBefore,
      },
      {
        desc: 'precommit A from v2',
        input: c.precommit(2, 0, 'A'),
        effects: [],
        state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
      },
      {
        desc: 'precommit A from v3: decide',
        input: c.precommit(3, 0, 'A'),
        effects: [decides(0, 'A', ['v1', 'v2', 'v3'])],
        state: { round: 0, step: 'decided', lockedRound: 0, validRound: 0 },
      },
      {
        desc: 'rebroadcast once decided: nothing, and no reschedule',
        input: c.timeout('rebroadcast', 0),
        effects: [],
        state: { round: 0, step: 'decided', lockedRound: 0, validRound: 0 },
      },
    ],
    { waitForWork: true },
  )
})

test('rebroadcast: once the valid value is more than a round old, the polka behind it is re-sent too', () => {
  const c = byz4
  const locked = { lockedRound: 0, validRound: 0 } as const
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v1',
      input: c.prevote(1, 0, 'A'),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v2: lock A, polka v0 v1 v2',
      input: c.prevote(2, 0, 'A'),
      effects: [persists(), sends('precommit', 0, 'A')],
      state: { round: 0, step: 'precommit', ...locked },
    },
    {
      desc: 'prevote nil of round 1 from v2: one validator, no skip',
      input: c.prevote(2, 1, null),
      effects: [],
      state: { round: 0, step: 'precommit', ...locked },
    },
    {
      desc: 'prevote nil of round 1 from v3: round 1',
      input: c.prevote(3, 1, null),
      effects: [schedules('propose', 1)],
      state: { round: 1, step: 'propose', ...locked },
    },
    {
      desc: 'rebroadcast in round 1: own votes of round 0 still go out, the polka is one round old; the votes that moved us to round 1 go out too',
      input: c.timeout('rebroadcast', 0),
      effects: [
        sends('prevote', 0, 'A'),
        sends('precommit', 0, 'A'),
        sends('prevote', 1, null, 'v2'),
        sends('prevote', 1, null, 'v3'),
        schedules('rebroadcast', 0),
      ],
      state: { round: 1, step: 'propose', ...locked },
    },
    {
      desc: 'prevote nil of round 2 from v1',
      input: c.prevote(1, 2, null),
      effects: [],
      state: { round: 1, step: 'propose', ...locked },
    },
    {
      desc: 'prevote nil of round 2 from v3: round 2',
      input: c.prevote(3, 2, null),
      effects: [schedules('propose', 2)],
      state: { round: 2, step: 'propose', ...locked },
    },
    {
      desc: 'rebroadcast in round 2: no own message of round 1 or 2; the polka of round 0, as signed by v0, v1, v2; the votes that moved us to round 2',
      input: c.timeout('rebroadcast', 0),
      effects: [
        sends('prevote', 0, 'A', 'v0'),
        sends('prevote', 0, 'A', 'v1'),
        sends('prevote', 0, 'A', 'v2'),
        sends('prevote', 2, null, 'v1'),
        sends('prevote', 2, null, 'v3'),
        schedules('rebroadcast', 0),
      ],
      state: { round: 2, step: 'propose', ...locked },
      check: (t, before) => {
        const sent = t.effects.flatMap((e) => (e.type === 'broadcast-vote' ? [e.vote] : []))
        assert.deepStrictEqual(sent, [...before.validPolka, ...before.roundCertificate])
      },
    },
  ])
})

// Purity

/** Freezes plain objects and arrays, and the contents of Maps and Sets (typed arrays cannot be). */
function deepFreeze(value: unknown, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return
  seen.add(value)
  if (ArrayBuffer.isView(value)) return
  if (value instanceof Map) {
    for (const [k, v] of value) {
      deepFreeze(k, seen)
      deepFreeze(v, seen)
    }
  } else if (value instanceof Set) {
    for (const v of value) deepFreeze(v, seen)
  }
  for (const v of Object.values(value)) deepFreeze(v, seen)
  Object.freeze(value)
}

test('step does not mutate its input state: every earlier state is unchanged after all later steps', () => {
  const c = byz4
  const inputs: Input[] = [
    c.start(),
    c.proposal(1, 0, 'A'),
    c.prevote(2, 0, null),
    c.prevote(2, 0, 'A'),
    c.prevote(3, 0, 'A'),
    c.precommit(1, 0, null),
    c.precommit(2, 0, null),
    c.timeout('precommit', 0),
    c.proposal(2, 1, 'B'),
    c.prevote(1, 2, null),
    c.prevote(3, 2, null),
    c.timeout('rebroadcast', 0),
    c.timeout('propose', 2),
    c.precommit(1, 0, 'A'),
    c.precommit(3, 0, 'A'),
  ]
  let state = initialState(c.config(0))
  const history: { state: ConsensusState; snap: unknown }[] = []
  for (const input of inputs) {
    history.push({ state, snap: snapshot(state) })
    for (const [key, value] of Object.entries(state)) if (key !== 'config') deepFreeze(value)
    Object.freeze(state)
    // A frozen input makes any write to it throw (ES modules are strict).
    state = step(state, input).state
  }
  assert.equal(state.step, 'decided', 'the scenario reaches a decision')
  history.forEach(({ state: s, snap }, i) => {
    assert.deepStrictEqual(snapshot(s), snap, `state before input ${i} was changed later`)
  })
})

// Rounds a peer can move a node to, and the votes it keeps (docs/consensus.md)

/** Every round the state holds votes or a proposal for, and the far votes it holds. */
function roundsHeld(s: ConsensusState): { rounds: number[]; ahead: number[] } {
  return {
    rounds: [...s.rounds.keys()].sort((a, b) => a - b),
    ahead: [...s.ahead.values()].map((v) => v.vote.round),
  }
}

test('L55 crash, bounded: a vote from a far round moves the node only out of a failed round, one round on, once per vote', () => {
  const c = crash3
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote nil of round 2^32-1 from v1 (no decoder lets it through): above MAX_ROUND, not counted',
      input: c.prevote(1, 2 ** 32 - 1, null),
      effects: [],
      state: { round: 0, step: 'propose' },
      check: (t) => assert.deepEqual(roundsHeld(t.state), { rounds: [], ahead: [] }),
    },
    {
      desc: 'prevote nil of round MAX_ROUND from v1: kept as its one far vote; no move, round 0 has not failed',
      input: c.prevote(1, MAX_ROUND, null),
      effects: [],
      state: { round: 0, step: 'propose' },
      check: (t) => assert.deepEqual(roundsHeld(t.state), { rounds: [], ahead: [MAX_ROUND] }),
    },
    {
      desc: 'timeoutPropose acts (L57): prevote nil, and the far vote moves it on, to round 1 only (v2 proposes)',
      input: c.timeout('propose', 0),
      effects: [persists(), sends('prevote', 0, null), schedules('propose', 1)],
      state: { round: 1, step: 'propose' },
      // Used up: it is neither kept nor re-sent to move others on.
      check: (t) => {
        assert.deepEqual(roundsHeld(t.state).ahead, [])
        assert.deepEqual(t.state.roundCertificate, [])
      },
    },
    {
      desc: 'prevote nil of round 2^30 from v1: held, no move: round 1 has not failed',
      input: c.prevote(1, 2 ** 30, null),
      effects: [],
      state: { round: 1, step: 'propose' },
      check: (t) => assert.deepEqual(roundsHeld(t.state).ahead, [2 ** 30]),
    },
    {
      desc: 'precommit nil of round 2^30 + 5 from v1: replaces it, still one far vote for v1',
      input: c.precommit(1, 2 ** 30 + 5, null),
      effects: [],
      state: { round: 1, step: 'propose' },
      check: (t) => assert.deepEqual(roundsHeld(t.state).ahead, [2 ** 30 + 5]),
    },
    {
      desc: 'timeoutPropose of round 1 acts: prevote nil, and on to round 2 (v0 proposes)',
      input: c.timeout('propose', 1),
      effects: [persists(), sends('prevote', 1, null), asksForValue(2), schedules('propose', 2)],
      state: { round: 2, step: 'propose' },
      check: (t) => assert.deepEqual(roundsHeld(t.state).ahead, []),
    },
    {
      desc: 'timeoutPropose of round 2: prevote nil, and no far vote is left to move it',
      input: c.timeout('propose', 2),
      effects: [persists(), sends('prevote', 2, null)],
      state: { round: 2, step: 'prevote' },
    },
  ])
})

test('L55 crash, bounded: a round getting on is not given up for a far vote, but a step no timeout will end is, after a whole rebroadcast interval', () => {
  const c = crash3
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A from v1: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote nil of round MAX_ROUND from v2: held, no move',
      input: c.prevote(2, MAX_ROUND, null),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'a late timeoutPropose does not act (step prevote), so it is no failure: no move',
      input: c.timeout('propose', 0),
      effects: [],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'rebroadcast: too few prevotes here for timeoutPrevote, but this is the first interval seen',
      input: c.timeout('rebroadcast', 0),
      effects: [sends('prevote', 0, 'A'), schedules('rebroadcast', 0)],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'rebroadcast again in the same round and step: it has failed, and the far vote moves it on to 1',
      input: c.timeout('rebroadcast', 0),
      effects: [sends('prevote', 0, 'A'), schedules('rebroadcast', 0), schedules('propose', 1)],
      state: { round: 1, step: 'propose' },
    },
  ])
})

test('L55 crash, bounded: two validators heard from far up move the node at once to the round the lower one is in, and only votes within reach become its round certificate', () => {
  const c = crash4
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote nil of round 40 from v1: one validator, beyond reach of a skip from round 0',
      input: c.prevote(1, 40, null),
      effects: [],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'prevote nil of round MAX_ROUND from v3: two validators at 40 or above; go to 40 (v1 proposes)',
      input: c.prevote(3, MAX_ROUND, null),
      effects: [schedules('propose', 40)],
      state: { round: 40, step: 'propose' },
      check: (t) => {
        assert.deepEqual(roundsHeld(t.state).rounds, [40])
        // v3's far vote would move our peers on after each of their failed rounds.
        assert.deepEqual(
          t.state.roundCertificate.map((v) => `${c.nameOf(v.vote.validator)} r${v.vote.round}`),
          ['v1 r40'],
        )
      },
    },
    {
      desc: 'prevote nil of round 40 from v2: already there',
      input: c.prevote(2, 40, null),
      effects: [],
      state: { round: 40, step: 'propose' },
    },
  ])
})

test('MAX_ROUND: in the highest round neither a quorum of nil precommits nor timeoutPrecommit starts another, and every vote there still signs', () => {
  const c = crash3
  // MAX_ROUND mod 3 = 1: v2 proposes there.
  const wal = c.wal({ round: MAX_ROUND, step: 'propose' })
  run(c, 0, [
    {
      desc: 'start-height resuming in round MAX_ROUND',
      input: c.start({ wal }),
      effects: [schedules('rebroadcast', 0), schedules('propose', MAX_ROUND)],
      state: { round: MAX_ROUND, step: 'propose' },
    },
    {
      desc: 'timeoutPropose: prevote nil in round MAX_ROUND',
      input: c.timeout('propose', MAX_ROUND),
      effects: [persists(), sends('prevote', MAX_ROUND, null)],
      state: { round: MAX_ROUND, step: 'prevote' },
    },
    {
      desc: 'prevote nil from v1: a quorum of nil prevotes, precommit nil (L44)',
      input: c.prevote(1, MAX_ROUND, null),
      effects: [persists(), sends('precommit', MAX_ROUND, null)],
      state: { round: MAX_ROUND, step: 'precommit' },
    },
    {
      desc: 'precommit nil from v1: a quorum of nil precommits, which would start the next round; there is none',
      input: c.precommit(1, MAX_ROUND, null),
      effects: [schedules('precommit', MAX_ROUND)],
      state: { round: MAX_ROUND, step: 'precommit' },
    },
    {
      desc: 'timeoutPrecommit (L65): no next round either',
      input: c.timeout('precommit', MAX_ROUND),
      effects: [],
      state: { round: MAX_ROUND, step: 'precommit' },
    },
  ])
})

test('votes are kept near the current round only: 5,000 rounds of prevotes from one byzantine validator leave ROUNDS_AHEAD rounds and one far vote, and do not move the node', () => {
  const c = byz4
  let s = step(initialState(c.config(0)), c.start()).state
  for (let r = 5_000; r >= 1; r--) {
    const vote = c.prevote(1, r, null)
    const kept = wouldKeep(s, vote)
    // Descending: only the first far vote is higher than the one held, then the window.
    assert.equal(kept, r === 5_000 || r <= ROUNDS_AHEAD, `round ${r}`)
    s = step(s, vote).state
  }
  assert.equal(s.round, 0, 'one validator of four is not the byzantine skip share')
  assert.deepEqual(roundsHeld(s), {
    rounds: Array.from({ length: ROUNDS_AHEAD }, (_, i) => i + 1),
    ahead: [5_000],
  })
  assert.equal(wouldKeep(s, c.prevote(1, 6_000, null)), true, 'a higher far vote replaces it')
  assert.equal(wouldKeep(s, c.prevote(1, MAX_ROUND + 1, null)), false)
})

test("rounds left more than ROUNDS_BEHIND behind are forgotten, except the lock's and the polka round of a proposal kept", () => {
  const c = crash3
  run(c, 0, [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A from v1: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
    {
      desc: 'prevote A from v1: a polka, lock A in round 0 and precommit it',
      input: c.prevote(1, 0, 'A'),
      effects: [persists(), sends('precommit', 0, 'A')],
      state: { round: 0, step: 'precommit', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'prevote nil of round 1 from v2: skip to 1',
      input: c.prevote(2, 1, null),
      effects: [schedules('propose', 1)],
      state: { round: 1, step: 'propose', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'prevote nil of round 30 from v1: one validator, no move',
      input: c.prevote(1, 30, null),
      effects: [],
      state: { round: 1, step: 'propose', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'v2 too: two validators in round 30, go there; round 1 is now 29 behind and forgotten, round 0 holds the lock',
      input: c.prevote(2, 30, null),
      effects: [schedules('propose', 30)],
      state: { round: 30, step: 'propose', lockedRound: 0, validRound: 0 },
      check: (t) => {
        assert.equal(30 - 1 > ROUNDS_BEHIND, true)
        assert.deepEqual(roundsHeld(t.state).rounds, [0, 30])
      },
    },
    {
      desc: 'prevote B of round 5 from v2: too far behind, not kept',
      input: c.prevote(2, 5, 'B'),
      effects: [],
      state: { round: 30, step: 'propose', lockedRound: 0, validRound: 0 },
      check: (t) => assert.deepEqual(roundsHeld(t.state).rounds, [0, 30]),
    },
    {
      desc: 'proposal B of round 30 from v1 with polRound 5: kept, and it makes round 5 worth keeping',
      input: c.proposal(1, 30, 'B', { polRound: 5 }),
      effects: [],
      state: { round: 30, step: 'propose', lockedRound: 0, validRound: 0 },
    },
    {
      desc: 'prevote B of round 5 from v2 again: kept now',
      input: c.prevote(2, 5, 'B'),
      effects: [],
      state: { round: 30, step: 'propose', lockedRound: 0, validRound: 0 },
      check: (t) => assert.deepEqual(roundsHeld(t.state).rounds, [0, 5, 30]),
    },
  ])
})

test('an equivocating proposer gets at most two blocks of one round kept; the rest are reported and dropped, and wouldKeep says so first', () => {
  const c = byz4
  const names = ['A', 'B', 'C', 'D', 'E', 'F']
  const rows: Row[] = [
    {
      desc: 'start-height',
      input: c.start(),
      effects: [schedules('rebroadcast', 0), schedules('propose', 0)],
      state: { round: 0, step: 'propose' },
    },
    {
      desc: 'proposal A from v1: prevote it',
      input: c.proposal(1, 0, 'A'),
      effects: [persists(), sends('prevote', 0, 'A')],
      state: { round: 0, step: 'prevote' },
    },
  ]
  for (const name of names.slice(1)) {
    rows.push({
      desc: `proposal ${name} from v1 in round 0 too: reported`,
      input: c.proposal(1, 0, name),
      effects: [reportsEquivocation('v1', 0, 'proposal')],
      state: { round: 0, step: 'prevote' },
    })
  }
  const { state } = run(c, 0, rows)
  assert.deepEqual(
    state.rounds.get(0)!.proposed.map((h) => c.blockName(h)),
    ['A', 'B'],
  )
  assert.deepEqual([...state.blocks.keys()].map((h) => c.blockName(h)).sort(), ['A', 'B'])
  assert.equal(wouldKeep(state, { type: 'proposal', proposal: c.signedProposal(1, 0, 'E') }), false)
  assert.equal(wouldKeep(state, { type: 'proposal', proposal: c.signedProposal(1, 0, 'B') }), true)
})

test('a record written before rounds were bounded, resumed in round 2^32-1, signs nothing there and re-sends none of its far votes', () => {
  const c = crash3
  const far = 2 ** 32 - 1
  const wal = c.wal({
    round: far,
    step: 'propose',
    roundCertificate: [c.signedVote('prevote', 1, far, null)],
  })
  run(c, 0, [
    {
      desc: 'start-height resuming in round 2^32-1',
      input: c.start({ wal }),
      effects: [schedules('rebroadcast', 0), schedules('propose', far)],
      state: { round: far, step: 'propose' },
      check: (t) => assert.deepEqual(t.state.roundCertificate, []),
    },
    {
      desc: 'timeoutPropose: the step moves on, but no prevote is signed (peers would refuse it)',
      input: c.timeout('propose', far),
      effects: [],
      state: { round: far, step: 'prevote' },
    },
    {
      desc: 'rebroadcast: nothing to re-send',
      input: c.timeout('rebroadcast', 0),
      effects: [schedules('rebroadcast', 0)],
      state: { round: far, step: 'prevote' },
    },
  ])
})
