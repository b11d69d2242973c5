import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { WireMessage } from '../../../core/consensus/messages.ts'
import {
  decodeMessage,
  ENTRY_BATCH,
  encodeMessage,
  SYNC_BATCH,
} from '../../../core/consensus/messages.ts'
import { MAX_ROUND } from '../../../core/consensus/types.ts'
import type { Block, Commit } from '../../../core/ledger/index.ts'
import {
  blockHash,
  DecodeError,
  LIMITS,
  signProposal,
  signVote,
  Writer,
} from '../../../core/ledger/index.ts'
import { Chain, entry, keypairs, makeGenesis, transfer } from '../ledger/helpers.ts'

// A small chain: block 1 and 2 applied with their commits, block 3 built on top (entries and a
// last commit), so every message carries real, signed content.
const kps = keypairs(3)
const [k0, k1] = kps as [(typeof kps)[0], (typeof kps)[0]]
const chain = new Chain(makeGenesis(kps), kps)
const pay = (to: string, amount: bigint, memo = '') =>
  entry(chain.state, k0, transfer({ from: '@bank', to, amount, memo }))

const synced: { block: Block; commit: Commit }[] = []
for (const entries of [[pay('alice', 100n, 'café ☕')], [pay('bob', 250n), pay('carol', 1n)]]) {
  chain.add(entries)
  synced.push({ block: chain.lastBlock!, commit: chain.lastCommit! })
}
const batch = [pay('dave', 5n), pay('erin', 7n, 'rent'), pay('alice', 9n)]
const block3 = chain.next(batch, 1).block
const ledger = chain.state.ledger

const fixtures: Record<WireMessage['type'], WireMessage[]> = {
  entries: [
    { type: 'entries', entries: [] },
    { type: 'entries', entries: batch },
  ],
  proposal: [
    {
      type: 'proposal',
      proposal: signProposal(
        k0,
        {
          ledger,
          height: 3,
          round: 1,
          polRound: 0,
          blockHash: blockHash(block3.header),
          proposer: k0.id,
        },
        block3,
      ),
    },
  ],
  vote: [
    {
      type: 'vote',
      vote: signVote(k1, {
        ledger,
        type: 'prevote',
        height: 3,
        round: 1,
        value: blockHash(block3.header),
        validator: k1.id,
      }),
    },
    {
      type: 'vote',
      vote: signVote(k1, {
        ledger,
        type: 'precommit',
        height: 3,
        round: 2,
        value: null,
        validator: k1.id,
      }),
    },
  ],
  'sync-request': [
    { type: 'sync-request', from: 1 },
    { type: 'sync-request', from: Number.MAX_SAFE_INTEGER },
  ],
  'sync-response': [
    { type: 'sync-response', tip: 0, blocks: [] },
    { type: 'sync-response', tip: 2, blocks: synced },
  ],
}
const all = Object.values(fixtures).flat()

/** Asserts that decoding `bytes` throws a DecodeError whose message matches `message`. */
function refuses(bytes: Uint8Array, message: RegExp, what = ''): void {
  assert.throws(
    () => decodeMessage(bytes),
    (e: unknown) => {
      assert.ok(e instanceof DecodeError, `${what}: a DecodeError, got ${String(e)}`)
      assert.match(e.message, message, what)
      return true
    },
  )
}

test('every wire message decodes to what was encoded, and re-encodes to the same bytes', () => {
  // The proposal's block has entries and a last commit; the sync response two blocks.
  const p = fixtures.proposal[0]
  assert.ok(p?.type === 'proposal')
  assert.equal(p.proposal.block.entries.length, 3)
  assert.notEqual(p.proposal.block.lastCommit, null)
  assert.equal(synced.length, 2)
  for (const m of all) {
    const bytes = encodeMessage(m)
    const decoded = decodeMessage(bytes)
    assert.deepStrictEqual(decoded, m, m.type)
    assert.deepStrictEqual(encodeMessage(decoded), bytes, `${m.type} re-encodes canonically`)
  }
})

test('a vote keeps nil apart from a block hash across the wire', () => {
  const [prevote, precommit] = fixtures.vote.map((m) => decodeMessage(encodeMessage(m)))
  assert.ok(prevote?.type === 'vote' && precommit?.type === 'vote')
  assert.equal(prevote.vote.vote.value, blockHash(block3.header))
  assert.equal(precommit.vote.vote.value, null)
})

test('the first byte is the message type: entries 0, proposal 1, vote 2, sync-request 3, sync-response 4', () => {
  const tags = Object.fromEntries(all.map((m) => [m.type, encodeMessage(m)[0]]))
  assert.deepEqual(tags, {
    entries: 0,
    proposal: 1,
    vote: 2,
    'sync-request': 3,
    'sync-response': 4,
  })
})

test('an unknown message type is refused, naming the type', () => {
  refuses(Uint8Array.of(5), /unknown message type 5/)
  refuses(Uint8Array.of(255, 0, 0, 0, 0), /unknown message type 255/)
})

test('an empty input is refused as truncated at the message type', () => {
  refuses(new Uint8Array(0), /truncated.*message type/)
})

test('every message cut short at any length is refused as truncated', () => {
  for (const m of all) {
    const bytes = encodeMessage(m)
    for (let n = 0; n < bytes.length; n++) {
      refuses(bytes.subarray(0, n), /truncated/, `${m.type} cut at ${n} of ${bytes.length}`)
    }
  }
})

test('trailing bytes after any message are refused, with their count', () => {
  for (const m of all) {
    const bytes = encodeMessage(m)
    const one = new Uint8Array([...bytes, 0])
    const three = new Uint8Array([...bytes, 1, 2, 3])
    refuses(one, /1 trailing byte after message/, m.type)
    refuses(three, /3 trailing bytes after message/, m.type)
  }
})

test('an entries batch declaring more than ENTRY_BATCH entries is refused before reading them', () => {
  const over = new Writer()
    .u8(0)
    .u32(ENTRY_BATCH + 1)
    .finish()
  refuses(over, new RegExp(`entries has ${ENTRY_BATCH + 1} items, at most ${ENTRY_BATCH}`))
  const huge = new Writer().u8(0).u32(0xffff_ffff).finish()
  refuses(huge, /entries has 4294967295 items, at most/)
  // Exactly the bound is allowed: what fails then is the missing entries.
  refuses(new Writer().u8(0).u32(ENTRY_BATCH).finish(), /truncated/)
})

test('a sync response declaring more than SYNC_BATCH blocks is refused before reading them', () => {
  const over = new Writer()
    .u8(4)
    .u53(9)
    .u32(SYNC_BATCH + 1)
    .finish()
  refuses(over, new RegExp(`blocks has ${SYNC_BATCH + 1} items, at most ${SYNC_BATCH}`))
  refuses(new Writer().u8(4).u53(9).u32(SYNC_BATCH).finish(), /truncated/)
})

test('a message longer than twice the block bound is refused by its size alone', () => {
  const max = LIMITS.blockBytes * 2
  refuses(new Uint8Array(max + 1), new RegExp(`message is ${max + 1} bytes; at most ${max}`))
})

test('a vote or proposal of a round above MAX_ROUND does not decode (no node ever enters one); MAX_ROUND itself does', () => {
  const vote = (round: number): WireMessage => ({
    type: 'vote',
    vote: signVote(k1, {
      ledger,
      type: 'prevote',
      height: 3,
      round,
      value: null,
      validator: k1.id,
    }),
  })
  const proposal = (round: number): WireMessage => ({
    type: 'proposal',
    proposal: signProposal(
      k0,
      {
        ledger,
        height: 3,
        round,
        polRound: -1,
        blockHash: blockHash(block3.header),
        proposer: k0.id,
      },
      block3,
    ),
  })
  for (const make of [vote, proposal]) {
    assert.deepEqual(decodeMessage(encodeMessage(make(MAX_ROUND))), make(MAX_ROUND))
    for (const round of [MAX_ROUND + 1, 2 ** 32 - 1]) {
      assert.throws(() => decodeMessage(encodeMessage(make(round))), DecodeError)
    }
  }
})
