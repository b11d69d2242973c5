/** Membership changes: one per block, one in flight at a time, and what a proposer offers. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  EntryOutcome,
  Keypair,
  LedgerState,
  MemberChange,
  SignedEntry,
} from '../../../core/ledger/index.ts'
import { buildBlock, Verifier, verifyBlock } from '../../../core/ledger/index.ts'
import { proposable } from '../../../core/ledger/membership.ts'
import { Chain, entry, keypair, keypairs, makeGenesis, transfer } from './helpers.ts'

function setup(members = 1) {
  const kps = keypairs(members)
  const chain = new Chain(makeGenesis(kps), kps)
  return { chain, state: chain.state, a: kps[0]!, kps }
}

const add = (who: Keypair, name = 'box'): MemberChange => ({
  kind: 'member',
  action: 'add',
  member: who.id,
  name,
})
const remove = (who: Keypair): MemberChange => ({
  kind: 'member',
  action: 'remove',
  member: who.id,
  name: '',
})
const short = (kp: Keypair) => kp.id.slice(0, 8)
const statuses = (outcomes: readonly EntryOutcome[]) => outcomes.map((o) => o.status)
const reason = (o: EntryOutcome | undefined) =>
  o?.status === 'rejected' ? o.reason : `not rejected: ${o?.status}`

test('a second member change in one block is rejected, whoever proposed the block', () => {
  const { chain, state, a } = setup()
  const x = keypair(40)
  const y = keypair(41)
  const outcomes = chain.add([
    entry(state, a, add(x)),
    entry(state, a, transfer()),
    entry(state, a, add(y)),
  ])
  assert.deepEqual(statuses(outcomes), ['committed', 'committed', 'rejected'])
  assert.equal(
    reason(outcomes[2]),
    `one membership change per block: this one came after the addition of member ${short(x)} in the same block; submit it again`,
  )
  assert.deepEqual(
    state.pendingMemberChanges().map((c) => c.member),
    [x.id],
  )
})

test('a removal after an addition in one block names the change it came after', () => {
  const { chain, state, a, kps } = setup(3)
  const outcomes = chain.add([entry(state, a, remove(kps[2]!)), entry(state, a, remove(kps[1]!))])
  assert.deepEqual(statuses(outcomes), ['committed', 'rejected'])
  assert.equal(
    reason(outcomes[1]),
    `one membership change per block: this one came after the removal of member ${short(kps[2]!)} in the same block; submit it again`,
  )
})

test('a member change while another is pending is rejected, and accepted once that one is in', () => {
  const { chain, state, a } = setup()
  const x = keypair(42)
  const y = keypair(43)
  chain.signers.set(x.id, x)
  chain.add([entry(state, a, add(x))])
  // Block 2: the addition of x (effective at 3) is still pending.
  const early = chain.add([entry(state, a, add(y))])
  assert.equal(
    reason(early[0]),
    `one membership change at a time: the addition of member ${short(x)} takes effect at height 3; submit this one again from then`,
  )
  assert.deepEqual(state.pendingMemberChanges(), [])
  // Block 3: x votes, and nothing is pending.
  const later = chain.add([entry(state, a, add(y))])
  assert.deepEqual(statuses(later), ['committed'])
})

test('a change that is invalid anyway gets its own reason, not a timing one', () => {
  const { chain, state, a, kps } = setup(2)
  const x = keypair(44)
  const outcomes = chain.add([
    entry(state, a, add(x)),
    entry(state, a, add(kps[1]!)),
    entry(state, a, remove(keypair(45))),
  ])
  assert.equal(reason(outcomes[1]), `member ${short(kps[1]!)} is already a member`)
  assert.equal(reason(outcomes[2]), `member ${short(keypair(45))} is not a member`)
})

test('a rejected change does not use up the block: the next valid one is accepted', () => {
  const { chain, state, a, kps } = setup(2)
  const x = keypair(46)
  const outcomes = chain.add([entry(state, a, add(kps[1]!)), entry(state, a, add(x))])
  assert.deepEqual(statuses(outcomes), ['rejected', 'committed'])
  const notMember = keypair(47)
  const stranger = chain.add([entry(state, notMember, add(keypair(48)))])
  assert.match(reason(stranger[0]), /is not a member$/)
})

test('a block with two changes, built by a proposer that does not hold one back, verifies the same everywhere', () => {
  const { chain, state, a } = setup()
  const entries = [entry(state, a, add(keypair(49))), entry(state, a, add(keypair(50)))]
  const { block, execution } = buildBlock({
    state,
    candidates: entries,
    proposer: a.id,
    round: 0,
    time: 1,
    lastCommit: null,
  })
  const other = new Chain(chain.genesis, [a]).state
  const verdict = verifyBlock(other, block, new Verifier())
  assert.ok(verdict.ok)
  assert.equal(verdict.execution.stateHash, execution.stateHash)
  assert.deepEqual(verdict.execution.outcomes, execution.outcomes)
  assert.deepEqual(statuses(execution.outcomes), ['committed', 'rejected'])
})

function mixed(state: LedgerState, a: Keypair) {
  return {
    t1: entry(state, a, transfer({ amount: 1n })),
    m1: entry(state, a, add(keypair(51))),
    t2: entry(state, a, transfer({ amount: 2n })),
    m2: entry(state, a, remove(keypair(52))),
    m3: entry(state, a, add(keypair(53))),
    t3: entry(state, a, transfer({ amount: 3n })),
  }
}

const ids = (entries: readonly SignedEntry[]) => entries.map((e) => e.id)

test('a proposer offers the first member change and holds back the rest, in order', () => {
  const { state, a } = setup()
  const { t1, m1, t2, m2, m3, t3 } = mixed(state, a)
  const all = [t1, m1, t2, m2, m3, t3]
  assert.deepEqual(ids(proposable(all, false)), ids([t1, m1, t2, t3]))
  assert.deepEqual(ids(proposable(all, true)), ids([t1, t2, t3]), 'none while one is pending')
  assert.deepEqual(ids(proposable([m2, m3], false)), ids([m2]))
  assert.deepEqual(proposable([], false), [])
  // Iterating a Map's values, as the mempool does, gives the same.
  const mempool = new Map(all.map((e) => [e.id, e]))
  assert.deepEqual(ids(proposable(mempool.values(), false)), ids([t1, m1, t2, t3]))
})

test('what a proposer offers from a mempool of member changes is never rejected for its timing', () => {
  const { chain, state, a } = setup()
  const newcomers = [60, 61, 62].map((n) => keypair(n))
  for (const kp of newcomers) chain.signers.set(kp.id, kp)
  const mempool = new Map<string, SignedEntry>()
  for (const kp of newcomers) {
    const e = entry(state, a, add(kp))
    mempool.set(e.id, e)
  }
  const settledAt: number[] = []
  while (mempool.size > 0 && state.height < 20) {
    const offered = proposable(mempool.values(), state.pendingMemberChanges().length > 0)
    const outcomes = chain.add(offered)
    for (const o of outcomes) {
      assert.equal(o.status, 'committed', reason(o))
      mempool.delete(o.id)
      settledAt.push(state.height)
    }
  }
  // One change every MEMBER_CHANGE_DELAY heights: each waits for the one before to take effect.
  assert.deepEqual(settledAt, [1, 3, 5])
  chain.add()
  chain.add()
  assert.equal(state.members().length, 4)
})
