/** The replica's promises to its host: effects in a safe order, and bad input changes nothing. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ROUNDS_AHEAD } from '../../../core/consensus/machine.ts'
import { ENTRY_BATCH, SYNC_BATCH, type SyncedBlock } from '../../../core/consensus/messages.ts'
import { proposerFor } from '../../../core/consensus/proposer.ts'
import {
  RELAY_LIMIT,
  Replica,
  type ReplicaEffect,
  type ReplicaInit,
} from '../../../core/consensus/replica.ts'
import { LAN_TIMING } from '../../../core/consensus/timing.ts'
import { buildBlock } from '../../../core/ledger/block.ts'
import { Verifier } from '../../../core/ledger/crypto.ts'
import { blockHash } from '../../../core/ledger/hashing.ts'
import { signProposal, signVote } from '../../../core/ledger/signing.ts'
import { LedgerState } from '../../../core/ledger/state.ts'
import { entry, keypair, keypairs, makeGenesis, transfer } from '../ledger/helpers.ts'
import { loneReplica } from './lone-replica.ts'

test('an invalid entry is refused with a clear error and changes nothing', () => {
  const { replica } = loneReplica()
  const before = replica.ledgerState.stateHash
  const result = replica.submit(transfer({ from: 'Alice' }), 10, 1)
  assert.equal(result.ok, false)
  assert.match(result.ok ? '' : result.error, /account "Alice" must match/)
  assert.equal(replica.pending, 0)
  assert.equal(replica.ledgerState.stateHash, before)
})

test('a submitted entry is made durable before any other effect, so the ack never outruns the disk', () => {
  const { replica } = loneReplica()
  const result = replica.submit(transfer(), 10, 1)
  assert.ok(result.ok)
  const first = result.effects[0]
  assert.equal(first?.type, 'persist-entry')
  assert.equal(first?.type === 'persist-entry' && first.durable, true)
})

test('a lone member commits its own entry at once and settles it', () => {
  const { replica, carry } = loneReplica()
  const result = replica.submit(transfer({ amount: 250n }), 10, 1)
  assert.ok(result.ok)
  const effects = carry(result.effects)
  const committed = effects.find((e) => e.type === 'committed')
  assert.ok(committed !== undefined && committed.type === 'committed')
  assert.deepEqual(committed.outcomes, [{ id: result.id, status: 'committed' }])
  assert.equal(replica.ledgerState.balance('alice', 'USD'), 250n)
  assert.equal(replica.pending, 0)
  // Every signed vote was persisted before it was sent.
  const persisted = new Set<string>()
  for (const e of effects) {
    if (e.type === 'persist-wal')
      for (const v of e.wal.votes) persisted.add(`${v.vote.round}/${v.vote.type}`)
    if (e.type === 'send' && e.message.type === 'vote') {
      const v = e.message.vote.vote
      assert.ok(persisted.has(`${v.round}/${v.type}`), `${v.type} sent before it was persisted`)
    }
  }
})

test('a replica restarted from its disk resumes at the next height with its entries settled', () => {
  const [kp] = keypairs(1)
  const genesis = makeGenesis([kp!])
  const chain = new Map<number, SyncedBlock>()
  const make = (recovered?: { blocks: SyncedBlock[] }) =>
    new Replica({
      keypair: kp!,
      genesis,
      timing: LAN_TIMING,
      verifier: new Verifier(),
      chain: { block: (h) => chain.get(h) ?? null },
      ...(recovered === undefined ? {} : { recovered: { ...recovered, wal: null, entries: [] } }),
    })
  const first = make()
  first.start(0)
  const result = first.submit(transfer(), 10, 1)
  assert.ok(result.ok)
  for (const e of result.effects) {
    if (e.type === 'persist-block')
      chain.set(e.block.header.height, { block: e.block, commit: e.commit })
  }
  const again = make({ blocks: [...chain.values()] })
  assert.equal(again.height, first.height)
  assert.equal(again.ledgerState.stateHash, first.ledgerState.stateHash)
  assert.ok(again.ledgerState.isCommitted(result.id))
})

test('a forged copy of a proposal, relayed first, is reported and does not make the real block invalid', () => {
  const members = keypairs(3)
  const genesis = makeGenesis(members)
  const [self] = members
  const replica = new Replica({
    keypair: self!,
    genesis,
    timing: LAN_TIMING,
    verifier: new Verifier(),
    chain: { block: () => null },
  })
  replica.start(0)
  const state = LedgerState.fromGenesis(genesis)
  const proposerId = proposerFor(state.validators(), 1, 0, [])
  const proposer = members.find((m) => m.id === proposerId)!
  const { block } = buildBlock({
    state,
    candidates: [entry(state, proposer, transfer())],
    proposer: proposerId,
    round: 0,
    time: 5,
    lastCommit: null,
  })
  const hash = blockHash(block.header)
  const real = signProposal(
    proposer,
    {
      ledger: state.ledger,
      height: 1,
      round: 0,
      polRound: -1,
      blockHash: hash,
      proposer: proposerId,
    },
    block,
  )
  const signature = real.block.entries[0]!.signature.slice()
  signature[0]! ^= 1
  const forged = {
    ...real,
    block: { ...block, entries: [{ ...block.entries[0]!, signature }] },
  }
  const relay = members[2]!.id
  const first = replica.receive(relay, { type: 'proposal', proposal: forged }, 10)
  assert.ok(
    first.some((e) => e.type === 'misbehaviour' && /entries hash/.test(e.reason)),
    'the forged copy is reported',
  )
  assert.ok(
    !first.some((e) => e.type === 'send' && e.message.type === 'vote'),
    'nothing voted on it',
  )
  const second = replica.receive(proposerId, { type: 'proposal', proposal: real }, 11)
  const prevote = second.find((e) => e.type === 'send' && e.message.type === 'vote')
  assert.ok(prevote?.type === 'send' && prevote.message.type === 'vote')
  assert.equal(prevote.message.vote.vote.value, hash, 'the real block gets a prevote, not nil')
})

test('after a restart, entries the disk kept but no block settled are gossiped again at once', () => {
  const members = keypairs(3)
  const genesis = makeGenesis(members)
  const state = LedgerState.fromGenesis(genesis)
  const waiting = entry(state, members[0]!, transfer())
  const replica = new Replica({
    keypair: members[0]!,
    genesis,
    timing: LAN_TIMING,
    verifier: new Verifier(),
    chain: { block: () => null },
    recovered: { blocks: [], wal: null, entries: [waiting] },
  })
  const effects = replica.start(0)
  const sent = effects.flatMap((e) =>
    e.type === 'send' && e.message.type === 'entries' ? e.message.entries.map((x) => x.id) : [],
  )
  assert.deepEqual(sent, [waiting.id])
  assert.equal(replica.pending, 1)
})

// Hostile peers: what a peer can make a replica send, keep and verify.

/** A replica of a three-member crash ledger: alone it decides nothing, so entries wait. */
function firstOfThree(init: Partial<ReplicaInit> = {}) {
  const members = keypairs(3)
  const genesis = makeGenesis(members)
  const state = LedgerState.fromGenesis(genesis)
  const replica = new Replica({
    keypair: members[0]!,
    genesis,
    timing: LAN_TIMING,
    verifier: new Verifier(),
    chain: { block: () => null },
    ...init,
  })
  replica.start(0)
  return { members, state, replica }
}

const relayedIds = (effects: readonly ReplicaEffect[]) =>
  effects.flatMap((e) =>
    e.type === 'send' && e.message.type === 'entries' ? e.message.entries.map((x) => x.id) : [],
  )

test('relay: a waiting entry is gossiped again once per relayMs, not at every relay tick', () => {
  const { members, state, replica } = firstOfThree()
  const entries = Array.from({ length: 100 }, () => entry(state, members[1]!, transfer()))
  replica.receive(members[1]!.id, { type: 'entries', entries }, 10)
  assert.equal(replica.pending, 100)
  const relay = { kind: 'relay' } as const
  assert.deepEqual(relayedIds(replica.fire(relay, 1_000)), [], 'not yet relayMs old')
  assert.equal(relayedIds(replica.fire(relay, 2_010)).length, 100, 'due: all of them')
  assert.deepEqual(relayedIds(replica.fire(relay, 3_010)), [], 'sent 1 s ago: not again yet')
  assert.equal(relayedIds(replica.fire(relay, 4_010)).length, 100, 'due again')
})

test('relay: one tick sends at most RELAY_LIMIT entries, the longest waiting first, and the rest at the next', () => {
  const { members, state, replica } = firstOfThree()
  const entries = Array.from({ length: RELAY_LIMIT + 500 }, () =>
    entry(state, members[1]!, transfer()),
  )
  for (let i = 0; i < entries.length; i += ENTRY_BATCH) {
    replica.receive(
      members[1]!.id,
      { type: 'entries', entries: entries.slice(i, i + ENTRY_BATCH) },
      10,
    )
  }
  const relay = { kind: 'relay' } as const
  const first = relayedIds(replica.fire(relay, 2_010))
  assert.deepEqual(
    first,
    entries.slice(0, RELAY_LIMIT).map((e) => e.id),
  )
  const second = relayedIds(replica.fire(relay, 2_020))
  assert.deepEqual(
    second,
    entries.slice(RELAY_LIMIT).map((e) => e.id),
  )
})

test('entries from peers are refused once the mempool holds its limit: not stored, not verified, not reported', () => {
  const verifier = new Verifier()
  const { members, state, replica } = firstOfThree({ mempoolLimit: 10, verifier })
  const entries = Array.from({ length: 15 }, () => entry(state, members[1]!, transfer()))
  const effects = replica.receive(members[1]!.id, { type: 'entries', entries }, 10)
  assert.equal(replica.pending, 10)
  assert.deepEqual(
    effects.flatMap((e) => (e.type === 'persist-entry' ? [e.entry.id] : [])),
    entries.slice(0, 10).map((e) => e.id),
  )
  assert.ok(!effects.some((e) => e.type === 'misbehaviour'))
  assert.equal(verifier.stats.misses, 10, 'the refused ones cost no signature check')
})

test('an entry by an author not a member here (perhaps added at a height not reached yet) is dropped without reporting the peer; a bad signature still is reported', () => {
  const { members, state, replica } = firstOfThree()
  const stranger = entry(state, keypair(100), transfer())
  const good = entry(state, members[1]!, transfer())
  const signature = good.signature.slice()
  signature[0]! ^= 1
  const forged = { ...entry(state, members[2]!, transfer()), signature }
  const effects = replica.receive(
    members[1]!.id,
    { type: 'entries', entries: [stranger, good, forged] },
    10,
  )
  assert.equal(replica.pending, 1, 'only the member entry with a good signature waits')
  const reports = effects.flatMap((e) => (e.type === 'misbehaviour' ? [e.reason] : []))
  assert.equal(reports.length, 1)
  assert.doesNotMatch(reports[0]!, /not a member/)
})

test('sync ask and push times keep only the peers of the last syncRetryMs, however many peers send', () => {
  const { members, state, replica } = firstOfThree()
  const vote = (height: number) => ({
    type: 'vote' as const,
    vote: signVote(members[1]!, {
      ledger: state.ledger,
      type: 'prevote',
      height,
      round: 0,
      value: null,
      validator: members[1]!.id,
    }),
  })
  const peer = (i: number) => i.toString(16).padStart(64, '0')
  const times = replica as unknown as {
    lastSyncAsk: Map<string, number>
    lastSyncPush: Map<string, number>
  }
  const asks = (effects: readonly ReplicaEffect[]) =>
    effects.filter((e) => e.type === 'send' && e.message.type === 'sync-request').length
  let sent = 0
  for (let i = 0; i < 1_000; i++) {
    sent += asks(replica.receive(peer(i), vote(5), 0)) // a height above ours: ask its sender
    replica.receive(peer(i), vote(0), 0) // a height below: push it blocks
  }
  assert.equal(sent, 1_000)
  assert.equal(times.lastSyncAsk.size, 1_000)
  assert.equal(asks(replica.receive(peer(0), vote(5), 100)), 0, 'one ask per peer per syncRetryMs')
  assert.equal(asks(replica.receive(peer(1), vote(5), LAN_TIMING.syncRetryMs)), 1)
  replica.receive(peer(1), vote(0), LAN_TIMING.syncRetryMs)
  assert.equal(times.lastSyncAsk.size, 1, 'the others are older than syncRetryMs: forgotten')
  assert.equal(times.lastSyncPush.size, 1)
})

test('a sync answer holds at most SYNC_BATCH blocks, and the newest blocks are served from memory without reading the chain', () => {
  const [kp] = keypairs(1)
  const chain = new Map<number, SyncedBlock>()
  let reads = 0
  const replica = new Replica({
    keypair: kp!,
    genesis: makeGenesis([kp!]),
    timing: LAN_TIMING,
    verifier: new Verifier(),
    chain: {
      block: (h) => {
        reads++
        return chain.get(h) ?? null
      },
    },
  })
  const keep = (effects: readonly ReplicaEffect[]) => {
    for (const e of effects) {
      if (e.type === 'persist-block')
        chain.set(e.block.header.height, { block: e.block, commit: e.commit })
    }
  }
  keep(replica.start(0))
  for (let i = 0; i < SYNC_BATCH + 6; i++) {
    const r = replica.submit(transfer(), 10 + i, i + 1)
    assert.ok(r.ok)
    keep(r.effects)
  }
  assert.equal(replica.height, SYNC_BATCH + 6, 'a lone member commits each entry at once')
  const answer = (from: number) => {
    const e = replica.receive('aa'.repeat(32), { type: 'sync-request', from }, 1_000)
    const s = e.find((x) => x.type === 'send' && x.message.type === 'sync-response')
    assert.ok(s?.type === 'send' && s.message.type === 'sync-response')
    return s.message
  }
  const recent = answer(SYNC_BATCH)
  assert.deepEqual(
    recent.blocks.map((b) => b.block.header.height),
    [
      SYNC_BATCH,
      SYNC_BATCH + 1,
      SYNC_BATCH + 2,
      SYNC_BATCH + 3,
      SYNC_BATCH + 4,
      SYNC_BATCH + 5,
      SYNC_BATCH + 6,
    ],
  )
  assert.deepEqual(recent.blocks, [...chain.values()].slice(SYNC_BATCH - 1))
  assert.equal(reads, 0, 'the newest heights came from memory')
  const all = answer(1)
  assert.equal(all.blocks.length, SYNC_BATCH)
  assert.equal(all.tip, SYNC_BATCH + 6)
  assert.deepEqual(all.blocks, [...chain.values()].slice(0, SYNC_BATCH))
  assert.equal(reads, 6, 'only the heights older than the newest SYNC_BATCH were read')
})

test('votes of rounds the machine would not keep cost no signature check', () => {
  const members = keypairs(4)
  const genesis = makeGenesis(members, { faultModel: 'byzantine' })
  const state = LedgerState.fromGenesis(genesis)
  const verifier = new Verifier()
  const replica = new Replica({
    keypair: members[0]!,
    genesis,
    timing: LAN_TIMING,
    verifier,
    chain: { block: () => null },
  })
  replica.start(0)
  for (let round = 100; round >= 1; round--) {
    const vote = signVote(members[1]!, {
      ledger: state.ledger,
      type: 'prevote',
      height: 1,
      round,
      value: null,
      validator: members[1]!.id,
    })
    replica.receive(members[1]!.id, { type: 'vote', vote }, 10)
  }
  // Round 100 (the validator's first far vote) and the ROUNDS_AHEAD rounds in reach; the far
  // ones below 100 are no higher than the one held.
  assert.equal(verifier.stats.misses, 1 + ROUNDS_AHEAD)
  assert.equal(replica.consensus.round, 0)
})

test('a proposer puts one member change in a block and holds the next back until the first is in', () => {
  const [self] = keypairs(1)
  const genesis = makeGenesis([self!])
  const state = LedgerState.fromGenesis(genesis)
  const addX = entry(state, self!, {
    kind: 'member',
    action: 'add',
    member: keypair(90).id,
    name: 'x',
  })
  const addY = entry(state, self!, {
    kind: 'member',
    action: 'add',
    member: keypair(91).id,
    name: 'y',
  })
  const t1 = entry(state, self!, transfer({ amount: 1n }))
  const t2 = entry(state, self!, transfer({ amount: 2n }))
  const replica = new Replica({
    keypair: self!,
    genesis,
    timing: LAN_TIMING,
    verifier: new Verifier(),
    chain: { block: () => null },
    recovered: { blocks: [], wal: null, entries: [t1, addX, addY, t2] },
  })
  const effects = replica.start(0)
  const committed = effects.flatMap((e) => (e.type === 'committed' ? [e] : []))
  // Block 1 takes the first change and the transfers; block 2 none while it is pending. From
  // height 3 the newcomer x votes and is offline, so nothing more is decided here.
  assert.deepEqual(
    committed.map((c) => c.block.entries.map((e) => e.id)),
    [[t1.id, addX.id, t2.id], []],
  )
  for (const c of committed) assert.ok(c.outcomes.every((o) => o.status === 'committed'))
  assert.equal(replica.pending, 1, 'y waits in the mempool')
  const proposals = effects.flatMap((e) =>
    e.type === 'send' && e.message.type === 'proposal' ? [e.message.proposal] : [],
  )
  const third = proposals.find((p) => p.proposal.height === 3)
  assert.ok(third !== undefined, 'this node proposes height 3: x is passed over, it never voted')
  assert.deepEqual(
    third.block.entries.map((e) => e.id),
    [addY.id],
  )
})
