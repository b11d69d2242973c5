/**
 * The gossip validator's verdicts (core/node/gossip.ts): `reject` (and so a penalty for the peer
 * that forwarded it) only for what is wrong on every node; `ignore` for what depends on the
 * membership this node has applied, which an honest peer ahead or behind sees differently.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeMessage, type WireMessage } from '../../../core/consensus/messages.ts'
import type { Keypair } from '../../../core/ledger/crypto.ts'
import { Verifier } from '../../../core/ledger/crypto.ts'
import { blockHash } from '../../../core/ledger/hashing.ts'
import { signProposal, signVote } from '../../../core/ledger/signing.ts'
import { LedgerState } from '../../../core/ledger/state.ts'
import { type GossipContext, judgeDirect, judgeGossip } from '../../../core/node/gossip.ts'
import { Chain, entry, keypair, keypairs, makeGenesis, transfer } from '../ledger/helpers.ts'

const members = keypairs(3)
const genesis = makeGenesis(members)
const state = LedgerState.fromGenesis(genesis)
/** Not a member here; elsewhere it may be one already (added at a height this node lacks). */
const newcomer = keypair(100)
const block = new Chain(genesis, members).next().block
/** Approved, its addition committed and not yet in force: it may fetch blocks, not vote. */
const joining = keypair(101)

function context(): GossipContext & { verifier: Verifier } {
  return {
    ledger: state.ledger,
    verifier: new Verifier(),
    isMember: (id) => members.some((m) => m.id === id),
    maySync: (id) => members.some((m) => m.id === id) || id === joining.id,
  }
}

function vote(kp: Keypair, ledger = state.ledger): WireMessage {
  return {
    type: 'vote',
    vote: signVote(kp, {
      ledger,
      type: 'prevote',
      height: 1,
      round: 0,
      value: null,
      validator: kp.id,
    }),
  }
}

function proposal(kp: Keypair): WireMessage {
  const p = {
    ledger: state.ledger,
    height: 1,
    round: 0,
    polRound: -1,
    blockHash: blockHash(block.header),
    proposer: kp.id,
  }
  return { type: 'proposal', proposal: signProposal(kp, p, block) }
}

const judge = (ctx: GossipContext, topic: 'entries' | 'consensus', m: WireMessage) =>
  judgeGossip(ctx, topic, encodeMessage(m))

test('a vote, proposal or entry signed by a key that is not a member here is ignored, not rejected, and costs no signature check', () => {
  const ctx = context()
  for (const [topic, m] of [
    ['consensus', vote(newcomer)],
    ['consensus', proposal(newcomer)],
    ['entries', { type: 'entries', entries: [entry(state, newcomer, transfer())] }],
  ] as const) {
    const j = judge(ctx, topic, m)
    assert.equal(j.verdict, 'ignore', `${m.type}: ${j.verdict === 'accept' ? '' : j.reason}`)
  }
  assert.equal(ctx.verifier.stats.misses, 0)
})

test('an entries batch with one author not a member here is ignored whole, before any signature in it is checked', () => {
  const ctx = context()
  const entries = [
    entry(state, members[0]!, transfer()),
    entry(state, members[1]!, transfer()),
    entry(state, newcomer, transfer()),
  ]
  assert.equal(judge(ctx, 'entries', { type: 'entries', entries }).verdict, 'ignore')
  assert.equal(ctx.verifier.stats.misses, 0)
})

test('what is wrong on every node is still rejected: another ledger, a bad signature by a member, a message on the wrong topic', () => {
  const ctx = context()
  assert.equal(judge(ctx, 'consensus', vote(members[1]!, 'ee'.repeat(32))).verdict, 'reject')
  const good = vote(members[1]!)
  assert.ok(good.type === 'vote')
  const signature = good.vote.signature.slice()
  signature[0]! ^= 1
  const bad: WireMessage = { type: 'vote', vote: { ...good.vote, signature } }
  assert.equal(judge(ctx, 'consensus', bad).verdict, 'reject')
  const forged = { ...entry(state, members[2]!, transfer()), signature }
  assert.equal(judge(ctx, 'entries', { type: 'entries', entries: [forged] }).verdict, 'reject')
  assert.equal(judge(ctx, 'entries', good).verdict, 'reject')
  assert.equal(judge(ctx, 'consensus', good).verdict, 'accept')
  assert.equal(judge(ctx, 'consensus', proposal(members[0]!)).verdict, 'accept')
})

test('direct: block sync is served to members within their rate only, refused without a penalty otherwise', () => {
  const ctx = context()
  const request = encodeMessage({ type: 'sync-request', from: 1 })
  const always = () => true
  assert.equal(judgeDirect(ctx, request, members[1]!.id, always).verdict, 'accept')
  assert.equal(judgeDirect(ctx, request, newcomer.id, always).verdict, 'ignore')
  assert.equal(judgeDirect(ctx, request, joining.id, always).verdict, 'accept')
  assert.equal(judge(ctx, 'consensus', vote(joining)).verdict, 'ignore', 'it may not vote yet')
  assert.equal(judgeDirect(ctx, request, members[1]!.id, () => false).verdict, 'ignore')
})

test('direct: what no node would accept there is rejected, so the sender is penalised', () => {
  const ctx = context()
  const entries: WireMessage = { type: 'entries', entries: [entry(state, members[0]!, transfer())] }
  const from = members[1]!.id
  assert.equal(judgeDirect(ctx, encodeMessage(entries), from, () => true).verdict, 'reject')
  assert.equal(judgeDirect(ctx, new Uint8Array([0xff, 1, 2]), from, () => true).verdict, 'reject')
  assert.equal(
    judgeDirect(ctx, encodeMessage(vote(members[0]!)), from, () => true).verdict,
    'accept',
  )
})
