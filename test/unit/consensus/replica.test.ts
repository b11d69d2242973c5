/** The replica's promises to its host: effects in a safe order, and bad input changes nothing. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SyncedBlock } from '../../../core/consensus/messages.ts'
import { proposerFor } from '../../../core/consensus/proposer.ts'
import { Replica } from '../../../core/consensus/replica.ts'
import { LAN_TIMING } from '../../../core/consensus/timing.ts'
import { buildBlock } from '../../../core/ledger/block.ts'
import { Verifier } from '../../../core/ledger/crypto.ts'
import { blockHash } from '../../../core/ledger/hashing.ts'
import { signProposal } from '../../../core/ledger/signing.ts'
import { LedgerState } from '../../../core/ledger/state.ts'
import { entry, keypairs, makeGenesis, transfer } from '../ledger/helpers.ts'
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
