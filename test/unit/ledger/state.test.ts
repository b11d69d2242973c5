import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { EntryOutcome, Keypair, MemberChange } from '../../../core/ledger/index.ts'
import { LedgerState, LIMITS, MEMBER_CHANGE_DELAY, ZERO_HASH } from '../../../core/ledger/index.ts'
import { leafBytes, membershipBytes, stateHashOf } from '../../../core/ledger/state-hash.ts'
import { Chain, entry, keypair, keypairs, makeGenesis, transfer } from './helpers.ts'

function setup(members = 1, assets: { code: string; decimals: number }[] = []) {
  const kps = keypairs(members)
  const chain = new Chain(makeGenesis(kps, { assets }), kps)
  return { chain, state: chain.state, a: kps[0]!, kps }
}

const fund = (state: LedgerState, kp: Keypair, to: string, amount: bigint, asset = 'USD') =>
  entry(state, kp, transfer({ from: '@bank', to, amount, asset }))

const statuses = (outcomes: readonly EntryOutcome[]) => outcomes.map((o) => o.status)

function memberChange(action: 'add' | 'remove', who: Keypair, name = ''): MemberChange {
  return { kind: 'member', action, member: who.id, name: action === 'add' ? name || 'box' : '' }
}

test('genesis state is at height 0 with the zero block hash and the genesis members as validators', () => {
  const { state, kps } = setup(3)
  assert.equal(state.height, 0)
  assert.equal(state.lastBlockHash, ZERO_HASH)
  assert.match(state.stateHash, /^[0-9a-f]{64}$/)
  assert.deepEqual(
    state.validators(),
    kps.map((kp) => ({ id: kp.id, weight: 1 })),
  )
  assert.deepEqual(state.previousValidators(), state.validators())
  assert.deepEqual(
    state.members().map((m) => m.id),
    kps.map((kp) => kp.id),
  )
})

test('fromGenesis refuses an invalid genesis', () => {
  assert.throws(
    () => LedgerState.fromGenesis({ ...makeGenesis([keypair(1)]), members: [] }),
    /invalid genesis/,
  )
})

test('a transfer that would overdraw a non-@ account is rejected with its reason, changing nothing', () => {
  const { chain, state, a } = setup()
  chain.add([fund(state, a, 'alice', 100n)])
  const hashBefore = state.balances()
  const outcomes = chain.add([
    entry(state, a, transfer({ from: 'alice', to: 'bob', amount: 500n })),
  ])
  assert.equal(outcomes[0]!.status, 'rejected')
  assert.equal(
    (outcomes[0] as { reason: string }).reason,
    'insufficient funds: alice has 1.00 USD, needs 5.00 USD',
  )
  assert.deepEqual(state.balances(), hashBefore)
})

test('insufficient funds is shown with the asset decimals from genesis', () => {
  const { chain, state, a } = setup(1, [{ code: 'JPY', decimals: 0 }])
  const outcomes = chain.add([
    entry(state, a, transfer({ from: 'alice', to: 'bob', asset: 'JPY', amount: 5n })),
  ])
  assert.deepEqual(outcomes[0], {
    id: outcomes[0]!.id,
    status: 'rejected',
    reason: 'insufficient funds: alice has 0 JPY, needs 5 JPY',
  })
  assert.equal(state.decimals('JPY'), 0)
  assert.equal(state.decimals('USD'), 2)
})

test('an @ account may go negative', () => {
  const { chain, state, a } = setup()
  assert.deepEqual(statuses(chain.add([fund(state, a, 'alice', 250n)])), ['committed'])
  assert.equal(state.balance('@bank', 'USD'), -250n)
  assert.equal(state.balance('alice', 'USD'), 250n)
})

test('spending an exact balance down to zero is allowed', () => {
  const { chain, state, a } = setup()
  chain.add([fund(state, a, 'alice', 100n)])
  const outcomes = chain.add([
    entry(state, a, transfer({ from: 'alice', to: 'bob', amount: 100n })),
  ])
  assert.deepEqual(statuses(outcomes), ['committed'])
  assert.equal(state.balance('alice', 'USD'), 0n)
  assert.equal(state.balance('bob', 'USD'), 100n)
  assert.deepEqual(
    state.balances().map((b) => b.account),
    ['@bank', 'bob'],
  )
})

test('later entries in a block see the balances earlier entries left', () => {
  const { state, a } = setup()
  const execution = state.execute([
    fund(state, a, 'alice', 100n),
    entry(state, a, transfer({ from: 'alice', to: 'bob', amount: 60n })),
    entry(state, a, transfer({ from: 'alice', to: 'bob', amount: 60n })),
  ])
  assert.deepEqual(statuses(execution.outcomes), ['committed', 'committed', 'rejected'])
})

test('an id repeated within a block is a duplicate the second time, with no effect', () => {
  const { chain, state, a } = setup()
  const e = fund(state, a, 'alice', 100n)
  const { block, execution } = chain.next([e])
  const doubled = state.execute([e, e])
  assert.deepEqual(statuses(doubled.outcomes), ['committed', 'duplicate'])
  assert.equal(doubled.stateHash, execution.stateHash)
  state.apply(block, execution)
  assert.equal(state.balance('alice', 'USD'), 100n)
})

test('an id committed at an earlier height is a duplicate, with no effect', () => {
  const { chain, state, a } = setup()
  const e = fund(state, a, 'alice', 100n)
  chain.add([e])
  assert.equal(state.isCommitted(e.id), true)
  const execution = state.execute([e])
  assert.deepEqual(statuses(execution.outcomes), ['duplicate'])
})

test('a rejected id is remembered: replaying it later is a duplicate, not a second try', () => {
  const { chain, state, a } = setup()
  const spend = entry(state, a, transfer({ from: 'alice', to: 'bob', amount: 100n }))
  assert.deepEqual(statuses(chain.add([spend])), ['rejected'])
  assert.equal(state.isCommitted(spend.id), true)
  chain.add([fund(state, a, 'alice', 100n)])
  assert.deepEqual(statuses(state.execute([spend]).outcomes), ['duplicate'])
})

test('an entry whose author is not a member is rejected', () => {
  const { chain, state } = setup()
  const stranger = keypair(77)
  const outcomes = chain.add([fund(state, stranger, 'alice', 100n)])
  assert.deepEqual(outcomes[0], {
    id: outcomes[0]!.id,
    status: 'rejected',
    reason: `author ${stranger.id.slice(0, 8)} is not a member`,
  })
  assert.equal(state.balance('alice', 'USD'), 0n)
})

test('a balance that would exceed the maximum amount is rejected as an overflow', () => {
  const { chain, state, a } = setup()
  chain.add([fund(state, a, 'alice', LIMITS.maxAmount)])
  const outcomes = chain.add([fund(state, a, 'alice', 1n)])
  assert.equal((outcomes[0] as { reason: string }).reason, 'balance of @bank would overflow')
  const toAlice = chain.add([entry(state, a, transfer({ from: '@mint', to: 'alice', amount: 1n }))])
  assert.equal((toAlice[0] as { reason: string }).reason, 'balance of alice would overflow')
  assert.equal(state.balance('alice', 'USD'), LIMITS.maxAmount)
})

test('a member added in block h votes from height h + 2, not before', () => {
  assert.equal(MEMBER_CHANGE_DELAY, 2)
  const { chain, state, a } = setup()
  const newcomer = keypair(50)
  chain.signers.set(newcomer.id, newcomer)
  const ids = () => state.validators().map((v) => v.id)
  assert.deepEqual(
    statuses(chain.add([entry(state, a, memberChange('add', newcomer, 'laptop'))])),
    ['committed'],
  )
  // After block 1: the set for height 2 is unchanged.
  assert.deepEqual(ids(), [a.id])
  assert.deepEqual(state.pendingMemberChanges(), [
    { member: newcomer.id, action: 'add', effective: 3, name: 'laptop' },
  ])
  // An entry by the newcomer in block 2 is still rejected.
  assert.deepEqual(statuses(chain.add([fund(state, newcomer, 'x', 1n)])), ['rejected'])
  // After block 2: the set for height 3 includes the newcomer.
  assert.deepEqual(ids(), [a.id, newcomer.id].sort())
  assert.deepEqual(state.previousValidators(), [{ id: a.id, weight: 1 }])
  assert.deepEqual(state.pendingMemberChanges(), [])
  assert.ok(state.members().some((m) => m.id === newcomer.id && m.name === 'laptop'))
  assert.deepEqual(statuses(chain.add([fund(state, newcomer, 'x', 1n)])), ['committed'])
})

test('a member removed in block h stops voting from height h + 2, not before', () => {
  const { chain, state, a, kps } = setup(3)
  const leaving = kps[2]!
  chain.add([entry(state, a, memberChange('remove', leaving))])
  assert.equal(state.validators().length, 3)
  chain.add()
  assert.deepEqual(
    state.validators().map((v) => v.id),
    kps.slice(0, 2).map((kp) => kp.id),
  )
  assert.equal(state.previousValidators().length, 3)
  chain.add()
  assert.deepEqual(state.previousValidators(), state.validators())
})

test('adding a current member is rejected', () => {
  const { chain, state, a, kps } = setup(2)
  const outcomes = chain.add([entry(state, a, memberChange('add', kps[1]!))])
  assert.equal(
    (outcomes[0] as { reason: string }).reason,
    `member ${kps[1]!.id.slice(0, 8)} is already a member`,
  )
})

test('adding a member whose add is already pending is rejected', () => {
  const { chain, state, a } = setup()
  const newcomer = keypair(51)
  chain.add([entry(state, a, memberChange('add', newcomer))])
  const outcomes = chain.add([entry(state, a, memberChange('add', newcomer, 'again'))])
  assert.match((outcomes[0] as { reason: string }).reason, /is already a member from height 3/)
})

test('removing someone who is not a member is rejected', () => {
  const { chain, state, a } = setup(2)
  const outcomes = chain.add([entry(state, a, memberChange('remove', keypair(52)))])
  assert.equal(
    (outcomes[0] as { reason: string }).reason,
    `member ${keypair(52).id.slice(0, 8)} is not a member`,
  )
})

test('removing the last member is rejected', () => {
  const { chain, state, a } = setup(1)
  const outcomes = chain.add([entry(state, a, memberChange('remove', a))])
  assert.equal((outcomes[0] as { reason: string }).reason, 'cannot remove the last member')
})

test('removing the last member counting pending removals is rejected', () => {
  const { chain, state, kps } = setup(2)
  const [a, b] = kps as [Keypair, Keypair]
  const outcomes = chain.add([
    entry(state, a, memberChange('remove', b)),
    entry(state, b, memberChange('remove', a)),
    entry(state, b, memberChange('remove', b)),
  ])
  assert.deepEqual(statuses(outcomes), ['committed', 'rejected', 'rejected'])
  assert.equal((outcomes[1] as { reason: string }).reason, 'cannot remove the last member')
  assert.match((outcomes[2] as { reason: string }).reason, /is already being removed from height 3/)
})

test('execute does not mutate the state', () => {
  const { chain, state, a, kps } = setup(2)
  chain.add([fund(state, a, 'alice', 100n)])
  const snapshot = () => ({
    height: state.height,
    lastBlockHash: state.lastBlockHash,
    stateHash: state.stateHash,
    balances: state.balances(),
    members: state.members(),
    validators: state.validators(),
    pending: state.pendingMemberChanges(),
  })
  const before = snapshot()
  const entries = [
    fund(state, a, 'bob', 5n),
    entry(state, a, transfer({ from: 'alice', to: 'carol', amount: 100n })),
    entry(state, a, memberChange('add', keypair(60))),
    entry(state, a, memberChange('remove', kps[1]!)),
  ]
  const execution = state.execute(entries)
  // The removal is the block's second member change: rejected, and the state still untouched.
  assert.deepEqual(statuses(execution.outcomes), [
    'committed',
    'committed',
    'committed',
    'rejected',
  ])
  assert.deepEqual(snapshot(), before)
  assert.equal(
    entries.some((e) => state.isCommitted(e.id)),
    false,
  )
})

test('apply adopts the execution it is given rather than executing again', () => {
  const { chain, state, a } = setup()
  const { block, execution } = chain.next([fund(state, a, 'alice', 100n)])
  assert.equal(state.apply(block, execution), execution.outcomes)
  assert.equal(state.stateHash, execution.stateHash)
  assert.equal(state.balance('alice', 'USD'), 100n)
})

test('apply does not reuse an execution computed for other entries or by another state', () => {
  const { chain, state, a } = setup()
  const { block } = chain.next([fund(state, a, 'alice', 100n)])
  const stale = state.execute([fund(state, a, 'bob', 7n)])
  const outcomes = state.apply(block, stale)
  assert.notEqual(outcomes, stale.outcomes)
  assert.equal(state.balance('alice', 'USD'), 100n)
  assert.equal(state.balance('bob', 'USD'), 0n)

  const other = setup()
  const { block: b2, execution: fromClone } = (() => {
    const clone = other.state.clone()
    const e = fund(other.state, other.a, 'carol', 1n)
    return { block: other.chain.next([e]).block, execution: clone.execute([e]) }
  })()
  assert.notEqual(other.state.apply(b2, fromClone), fromClone.outcomes)
})

test('an execution is stale once its state has applied a block', () => {
  const { chain, state, a } = setup()
  const e = fund(state, a, 'alice', 100n)
  const early = state.execute([e])
  chain.add([])
  const { block } = chain.next([e])
  assert.notEqual(state.apply(block, early), early.outcomes)
})

test('apply refuses a block at the wrong height, on the wrong parent or with a wrong state hash', () => {
  const { chain, state, a } = setup()
  const { block, execution } = chain.next([fund(state, a, 'alice', 100n)])
  const before = state.stateHash
  const wrongHeight = { ...block, header: { ...block.header, height: 2 } }
  assert.throws(() => state.apply(wrongHeight), /block height 2 does not follow height 0/)
  const wrongParent = { ...block, header: { ...block.header, prevHash: 'ab'.repeat(32) } }
  assert.throws(() => state.apply(wrongParent), /does not extend/)
  const wrongState = { ...block, header: { ...block.header, stateHash: 'ab'.repeat(32) } }
  assert.throws(
    () => state.apply(wrongState, execution),
    /claims state abababab but applying it gives/,
  )
  assert.equal(state.height, 0)
  assert.equal(state.stateHash, before)
  assert.equal(state.balance('alice', 'USD'), 0n)
})

test('equal histories give equal state hashes on independent states', () => {
  const one = setup(2)
  const other = LedgerState.fromGenesis(one.chain.genesis)
  assert.equal(other.stateHash, one.state.stateHash)
  for (let h = 1; h <= 3; h++) {
    const newcomer = keypair(80 + h)
    one.chain.signers.set(newcomer.id, newcomer)
    one.chain.add([
      fund(one.state, one.a, `acct${h}`, BigInt(h)),
      entry(one.state, one.a, memberChange('add', newcomer)),
    ])
    other.apply(one.chain.lastBlock!)
    assert.equal(other.stateHash, one.state.stateHash, `height ${h}`)
    assert.equal(other.lastBlockHash, one.state.lastBlockHash)
  }
  assert.deepEqual(other.balances(), one.state.balances())
  assert.deepEqual(other.members(), one.state.members())
})

test('the state hash differs when a balance differs', () => {
  const one = setup()
  const two = setup()
  one.chain.add([fund(one.state, one.a, 'alice', 100n)])
  two.chain.add([fund(two.state, two.a, 'alice', 101n)])
  assert.notEqual(one.state.stateHash, two.state.stateHash)
})

test('the state hash covers every balance, the membership, the applied ids, the height and the ledger', () => {
  const key = (account: string) => `${account}\u0000USD`
  const leaves = new Map([
    [key('alice'), leafBytes(key('alice'), 100n)],
    [key('bob'), leafBytes(key('bob'), -5n)],
  ])
  const base = {
    ledger: 'aa'.repeat(32),
    height: 4,
    keys: [key('alice'), key('bob')],
    leaf: (k: string) => leaves.get(k)!,
    membership: new Uint8Array([1, 2, 3]),
    digest: new Uint8Array(32),
  }
  const hash = stateHashOf(base)
  const variants = [
    { ...base, leaf: (k: string) => (k === key('bob') ? leafBytes(k, -6n) : leaves.get(k)!) },
    { ...base, keys: [key('alice')] },
    { ...base, membership: new Uint8Array([1, 2, 4]) },
    { ...base, digest: new Uint8Array(32).fill(1) },
    { ...base, height: 5 },
    { ...base, ledger: 'ab'.repeat(32) },
  ]
  for (const v of variants) assert.notEqual(stateHashOf(v), hash)
  assert.equal(stateHashOf({ ...base }), hash)
})

test('the membership bytes of the state hash cover member names and pending changes', () => {
  const members = [{ id: 'aa'.repeat(32), name: 'front desk' }]
  const pending = [{ member: 'bb'.repeat(32), action: 'add' as const, effective: 3, name: 'x' }]
  const base = membershipBytes(members, pending)
  assert.notDeepEqual(membershipBytes(members, []), base)
  assert.notDeepEqual(membershipBytes([{ ...members[0]!, name: 'back office' }], pending), base)
  assert.notDeepEqual(membershipBytes(members, [{ ...pending[0]!, effective: 4 }]), base)
  assert.notDeepEqual(membershipBytes(members, [{ ...pending[0]!, action: 'remove' }]), base)
})

test('balances() lists non-zero balances sorted by account, then asset', () => {
  const { chain, state, a } = setup()
  chain.add([
    fund(state, a, 'zed', 1n),
    fund(state, a, 'amy', 1n, 'EUR'),
    fund(state, a, 'amy', 1n, 'CHF'),
    fund(state, a, 'amy.b', 1n),
  ])
  assert.deepEqual(
    state.balances().map((b) => `${b.account}/${b.asset}/${b.amount}`),
    [
      '@bank/CHF/-1',
      '@bank/EUR/-1',
      '@bank/USD/-2',
      'amy/CHF/1',
      'amy/EUR/1',
      'amy.b/USD/1',
      'zed/USD/1',
    ],
  )
})

test('a clone is independent: applying to it leaves the original unchanged', () => {
  const { chain, state, a } = setup()
  chain.add([fund(state, a, 'alice', 100n)])
  const clone = state.clone()
  const hash = state.stateHash
  const { block } = chain.next([
    fund(state, a, 'alice', 5n),
    entry(state, a, memberChange('add', keypair(71))),
  ])
  clone.apply(block)
  assert.equal(clone.height, 2)
  assert.equal(clone.balance('alice', 'USD'), 105n)
  assert.equal(state.height, 1)
  assert.equal(state.stateHash, hash)
  assert.equal(state.balance('alice', 'USD'), 100n)
  assert.deepEqual(state.pendingMemberChanges(), [])
  assert.equal(state.isCommitted(block.entries[0]!.id), false)
  state.apply(block)
  assert.equal(state.stateHash, clone.stateHash)
})
