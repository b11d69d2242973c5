import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  Block,
  Commit,
  Entry,
  Genesis,
  SignedProposal,
  SignedVote,
  Transfer,
} from '../../../core/ledger/index.ts'
import {
  DecodeError,
  decodeBlock,
  decodeCommit,
  decodeEntry,
  decodeGenesis,
  decodeSignedEntry,
  decodeSignedProposal,
  decodeSignedVote,
  encodeBlock,
  encodeCommit,
  encodeEntry,
  encodeGenesis,
  encodeHeader,
  encodeSignedEntry,
  encodeSignedProposal,
  encodeSignedVote,
  entryId,
  entrySignBytes,
  LIMITS,
  proposalSignBytes,
  Reader,
  signEntry,
  voteSignBytes,
  Writer,
} from '../../../core/ledger/index.ts'
import { keypair, transfer } from './helpers.ts'

const author = keypair(1)
const ledger = 'ab'.repeat(32)
const sig = (n: number) => new Uint8Array(64).fill(n)

function entryWith(body: Entry['body']): Entry {
  return { ledger, author: author.id, nonce: 7, time: 1_700_000_000_123, body }
}

const unicodeMemo = '\uFEFFcafé ☕ 日本語 👩‍👩‍👧 e\u0301'
const transferEntry = entryWith(transfer({ memo: unicodeMemo, amount: LIMITS.maxAmount }))
const addEntry = entryWith({
  kind: 'member',
  action: 'add',
  member: keypair(2).id,
  name: 'Ünïcode box 🖥',
})
const removeEntry = entryWith({ kind: 'member', action: 'remove', member: keypair(2).id, name: '' })
const signedEntry = signEntry(author, transferEntry)

const commit: Commit = {
  height: 4,
  round: 2,
  blockHash: 'cd'.repeat(32),
  signatures: [
    { validator: '11'.repeat(32), signature: sig(1) },
    { validator: '22'.repeat(32), signature: sig(2) },
  ],
}

const block: Block = {
  header: {
    ledger,
    height: 5,
    round: 1,
    prevHash: 'cd'.repeat(32),
    proposer: author.id,
    time: 1_700_000_000_999,
    entriesHash: '01'.repeat(32),
    stateHash: '02'.repeat(32),
    lastCommitHash: '03'.repeat(32),
  },
  entries: [signedEntry, signEntry(author, addEntry), signEntry(author, removeEntry)],
  lastCommit: commit,
}

const firstBlock: Block = { ...block, header: { ...block.header, height: 1 }, lastCommit: null }

const genesis: Genesis = {
  name: 'Bürogemeinschaft ✓',
  time: 1_700_000_000_000,
  faultModel: 'byzantine',
  members: [
    { id: keypair(1).id, name: 'front desk' },
    { id: keypair(2).id, name: 'back office' },
  ],
  assets: [
    { code: 'JPY', decimals: 0 },
    { code: 'BTC', decimals: 8 },
  ],
}

const vote: SignedVote = {
  vote: {
    ledger,
    type: 'precommit',
    height: 9,
    round: 3,
    value: 'ee'.repeat(32),
    validator: author.id,
  },
  signature: sig(9),
}
const nilVote: SignedVote = {
  vote: { ...vote.vote, type: 'prevote', value: null },
  signature: sig(8),
}

const proposal: SignedProposal = {
  proposal: {
    ledger,
    height: 5,
    round: 0,
    polRound: -1,
    blockHash: 'aa'.repeat(32),
    proposer: author.id,
  },
  signature: sig(5),
  block,
}
const reproposal: SignedProposal = {
  ...proposal,
  proposal: { ...proposal.proposal, round: 3, polRound: 2 },
}

interface Codec<T> {
  readonly name: string
  readonly value: T
  readonly encode: (v: T) => Uint8Array
  readonly decode: (b: Uint8Array) => T
}

const codecs: Codec<unknown>[] = [
  {
    name: 'transfer entry with a unicode memo',
    value: transferEntry,
    encode: encodeEntry,
    decode: decodeEntry,
  },
  { name: 'member add entry', value: addEntry, encode: encodeEntry, decode: decodeEntry },
  { name: 'member remove entry', value: removeEntry, encode: encodeEntry, decode: decodeEntry },
  {
    name: 'signed entry',
    value: signedEntry,
    encode: encodeSignedEntry,
    decode: decodeSignedEntry,
  },
  { name: 'commit', value: commit, encode: encodeCommit, decode: decodeCommit },
  {
    name: 'block with entries and a commit',
    value: block,
    encode: encodeBlock,
    decode: decodeBlock,
  },
  {
    name: 'block at height 1 without a commit',
    value: firstBlock,
    encode: encodeBlock,
    decode: decodeBlock,
  },
  { name: 'genesis with assets', value: genesis, encode: encodeGenesis, decode: decodeGenesis },
  { name: 'vote for a block', value: vote, encode: encodeSignedVote, decode: decodeSignedVote },
  { name: 'nil vote', value: nilVote, encode: encodeSignedVote, decode: decodeSignedVote },
  {
    name: 'proposal with polRound -1',
    value: proposal,
    encode: encodeSignedProposal,
    decode: decodeSignedProposal,
  },
  {
    name: 'proposal with polRound 2 in round 3',
    value: reproposal,
    encode: encodeSignedProposal,
    decode: decodeSignedProposal,
  },
] as Codec<unknown>[]

for (const c of codecs) {
  test(`${c.name}: decoding its encoding gives the same value, and re-encoding the same bytes`, () => {
    const bytes = c.encode(c.value)
    const decoded = c.decode(bytes)
    assert.deepEqual(decoded, c.value)
    assert.deepEqual(c.encode(decoded), bytes)
  })

  test(`${c.name}: every truncated prefix is refused with a DecodeError`, () => {
    const bytes = c.encode(c.value)
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(() => c.decode(bytes.subarray(0, n)), DecodeError, `prefix of ${n} bytes`)
    }
  })

  test(`${c.name}: trailing bytes are refused`, () => {
    const bytes = c.encode(c.value)
    const longer = new Uint8Array(bytes.length + 3)
    longer.set(bytes)
    assert.throws(() => c.decode(longer), {
      name: 'DecodeError',
      message: /^3 trailing bytes after /,
    })
  })
}

test('decodeEntry reports truncation with the byte offset and the field being read', () => {
  const bytes = encodeEntry(transferEntry)
  assert.throws(() => decodeEntry(bytes.subarray(0, 40)), {
    name: 'DecodeError',
    message: 'input truncated at byte 40 reading author',
  })
})

test('decodeSignedEntry recomputes the id from the entry bytes instead of trusting one', () => {
  const forged = { ...signedEntry, id: 'ff'.repeat(32) }
  assert.equal(decodeSignedEntry(encodeSignedEntry(forged)).id, entryId(transferEntry))
})

test('entry id is the SHA-256 of the canonical entry bytes, so equal entries share an id', () => {
  const copy: Entry = JSON.parse(
    JSON.stringify(transferEntry, (_, v) => (typeof v === 'bigint' ? `${v}` : v)),
    (k, v) => (k === 'amount' ? BigInt(v) : v),
  )
  assert.equal(entryId(copy), entryId(transferEntry))
  assert.notEqual(entryId({ ...transferEntry, nonce: 8 }), entryId(transferEntry))
})

function encodedTransfer(fields: Partial<Omit<Transfer, 'kind'>>): Uint8Array {
  return encodeEntry(entryWith(transfer(fields)))
}

test('a 281-character memo is refused on decode; 280 four-byte characters are accepted', () => {
  assert.throws(() => decodeEntry(encodedTransfer({ memo: 'x'.repeat(281) })), {
    name: 'DecodeError',
    message: 'memo is 281 characters; at most 280',
  })
  const emoji = '😀'.repeat(280)
  assert.equal((decodeEntry(encodedTransfer({ memo: emoji })).body as Transfer).memo, emoji)
})

test('a memo longer than 280 characters can fit in its byte bound and is still refused', () => {
  assert.throws(
    () => decodeEntry(encodedTransfer({ memo: 'é'.repeat(281) })),
    /memo is 281 characters/,
  )
})

test('a memo over the byte bound is refused before it is decoded', () => {
  assert.throws(() => decodeEntry(encodedTransfer({ memo: 'x'.repeat(5000) })), {
    name: 'DecodeError',
    message: 'memo is 5000 bytes, at most 1120',
  })
})

test('a 13-character asset is refused on decode', () => {
  assert.throws(() => decodeEntry(encodedTransfer({ asset: 'ABCDEFGHIJKLM' })), {
    name: 'DecodeError',
    message: 'asset "ABCDEFGHIJKLM" must match [A-Z0-9]{1,12}',
  })
})

test('amount 0 and amount above the maximum are refused on decode', () => {
  assert.throws(() => decodeEntry(encodedTransfer({ amount: 0n })), {
    name: 'DecodeError',
    message: 'amount must be a positive integer of minor units',
  })
  assert.throws(
    () => decodeEntry(encodedTransfer({ amount: LIMITS.maxAmount + 1n })),
    /amount 9223372036854775808 exceeds the maximum 9223372036854775807/,
  )
})

test('decoded entries satisfy the field rules: a bad account name is refused', () => {
  assert.throws(() => decodeEntry(encodedTransfer({ to: 'Bob' })), {
    name: 'DecodeError',
    message: 'to account "Bob" must match [a-z0-9._-]{1,64}, optionally with a leading @',
  })
  assert.throws(() => decodeEntry(encodedTransfer({ from: 'bob', to: 'bob' })), /same account/)
})

function headerBytes(): Uint8Array {
  return encodeHeader(block.header)
}

test('a block declaring more entries than the limit is refused from the count, before any data', () => {
  const bytes = new Writer()
    .fixed(headerBytes())
    .u32(LIMITS.entriesPerBlock + 1)
    .finish()
  assert.throws(() => decodeBlock(bytes), {
    name: 'DecodeError',
    message: 'block entries has 10001 items, at most 10000',
  })
})

test('a count larger than the bytes that follow could hold is refused before allocating', () => {
  const bytes = new Writer().fixed(headerBytes()).u32(5000).fixed(new Uint8Array(100)).finish()
  assert.throws(() => decodeBlock(bytes), /declares 5000 items but only 100 bytes remain/)
})

test('a commit with more signatures than validators can exist is refused from its count', () => {
  const bytes = new Writer()
    .u53(1)
    .u32(0)
    .hash(ledger)
    .u32(LIMITS.validators + 1)
    .finish()
  assert.throws(() => decodeCommit(bytes), /commit signatures has 257 items, at most 256/)
})

test('a block larger than the block byte limit is refused before parsing', () => {
  assert.throws(() => decodeBlock(new Uint8Array(LIMITS.blockBytes + 1)), {
    name: 'DecodeError',
    message: `block is ${LIMITS.blockBytes + 1} bytes, at most ${LIMITS.blockBytes}`,
  })
})

/** Encodes `value`, lets `patch` change bytes at a field's offset, and decodes. */
function patched<T>(
  bytes: Uint8Array,
  offset: number,
  replacement: number[],
  decode: (b: Uint8Array) => T,
): () => T {
  const copy = bytes.slice()
  copy.set(replacement, offset)
  return () => decode(copy)
}

// Entry layout: ledger 32, author 32, nonce 8, time 8, kind 1, then the body.
const KIND_OFFSET = 80

test('an unknown entry kind tag is refused', () => {
  const bytes = encodeEntry(transferEntry)
  assert.throws(patched(bytes, KIND_OFFSET, [7], decodeEntry), /entry kind 7 is not transfer/)
})

test('an unknown member action tag is refused', () => {
  const bytes = encodeEntry(addEntry)
  assert.throws(patched(bytes, KIND_OFFSET + 1, [2], decodeEntry), /member action 2 is not add/)
})

test('a nonce beyond 2^53 - 1 is refused rather than rounded', () => {
  const bytes = encodeEntry(transferEntry)
  assert.throws(
    patched(bytes, 64, [0x00, 0x20], decodeEntry),
    /nonce exceeds the largest safe integer/,
  )
})

test('invalid UTF-8 in a string is refused (it would not re-encode to the same bytes)', () => {
  const bytes = encodeEntry(entryWith(transfer({ memo: 'ab' })))
  const memoStart = bytes.length - 2
  assert.throws(patched(bytes, memoStart, [0xc3, 0x28], decodeEntry), /memo is not valid UTF-8/)
})

test('a boolean byte other than 0 or 1 is refused', () => {
  const bytes = encodeSignedVote(vote)
  // ledger 32, type 1, height 8, round 4, then has-value.
  assert.throws(
    patched(bytes, 45, [2], decodeSignedVote),
    /vote has value is 2; a boolean is 0 or 1/,
  )
})

test('an unknown vote type is refused', () => {
  const bytes = encodeSignedVote(vote)
  assert.throws(patched(bytes, 32, [0], decodeSignedVote), /vote type 0 is not prevote/)
})

test('height 0 is refused in votes', () => {
  const bytes = encodeSignedVote(vote)
  assert.throws(patched(bytes, 33, [0, 0, 0, 0, 0, 0, 0, 0], decodeSignedVote), /vote height is 0/)
})

test('a proposal polRound below -1, or not below its round, is refused', () => {
  const low = { ...proposal, proposal: { ...proposal.proposal, polRound: -2 } }
  assert.throws(
    () => decodeSignedProposal(encodeSignedProposal(low)),
    /polRound -2 must be -1 or below the round 0/,
  )
  const same = { ...proposal, proposal: { ...proposal.proposal, round: 2, polRound: 2 } }
  assert.throws(
    () => decodeSignedProposal(encodeSignedProposal(same)),
    /polRound 2 must be -1 or below the round 2/,
  )
})

test('an unknown fault model is refused', () => {
  const bytes = encodeGenesis(genesis)
  const nameBytes = new TextEncoder().encode(genesis.name).length
  assert.throws(patched(bytes, 4 + nameBytes + 8, [2], decodeGenesis), /fault model 2 is not crash/)
})

test('a genesis that breaks the genesis rules is refused on decode', () => {
  const twice = { ...genesis, members: [genesis.members[0]!, genesis.members[0]!] }
  assert.throws(() => decodeGenesis(encodeGenesis(twice)), /is listed twice/)
  assert.throws(
    () => decodeGenesis(encodeGenesis({ ...genesis, members: [] })),
    /at least one member/,
  )
})

test('each kind of sign-bytes starts with its own domain tag', () => {
  const tagOf = (bytes: Uint8Array) => {
    const r = new Reader(bytes)
    return r.string('tag', 64)
  }
  const tags = [
    tagOf(entrySignBytes(transferEntry)),
    tagOf(voteSignBytes(vote.vote)),
    tagOf(proposalSignBytes(proposal.proposal)),
  ]
  assert.deepEqual(tags, ['tally/entry/v1', 'tally/vote/v1', 'tally/proposal/v1'])
})

test('Writer refuses values that have no canonical encoding', () => {
  assert.throws(() => new Writer().u53(2 ** 53), /u53 out of range/)
  assert.throws(() => new Writer().u53(1.5), /u53 out of range/)
  assert.throws(() => new Writer().u32(-1), /u32 out of range/)
  assert.throws(() => new Writer().u64(-1n), /u64 out of range/)
  assert.throws(() => new Writer().hash('AB'.repeat(32)), /lowercase hex/)
  assert.throws(() => new Writer().string('\uD800x'), /unpaired/)
  const badSignature = { ...signedEntry, signature: new Uint8Array(63) }
  assert.throws(() => encodeSignedEntry(badSignature), /a signature is 64 bytes; got 63/)
})

test('Reader and Writer mirror each other for every primitive', () => {
  const bytes = new Writer()
    .u8(255)
    .u16(65535)
    .u32(4_000_000_000)
    .i32(-1)
    .u53(Number.MAX_SAFE_INTEGER)
    .u64(2n ** 64n - 1n)
    .i64(-(2n ** 63n))
    .bool(true)
    .bytes(new Uint8Array([1, 2]))
    .fixed(new Uint8Array([3]))
    .hash('0f'.repeat(32))
    .string('ü')
    .finish()
  const r = new Reader(bytes)
  assert.equal(r.u8('a'), 255)
  assert.equal(r.u16('b'), 65535)
  assert.equal(r.u32('c'), 4_000_000_000)
  assert.equal(r.i32('d'), -1)
  assert.equal(r.u53('e'), Number.MAX_SAFE_INTEGER)
  assert.equal(r.u64('f'), 2n ** 64n - 1n)
  assert.equal(r.i64('g'), -(2n ** 63n))
  assert.equal(r.bool('h'), true)
  assert.deepEqual(r.bytes('i', 2), new Uint8Array([1, 2]))
  assert.deepEqual(r.fixed('j', 1), new Uint8Array([3]))
  assert.equal(r.hash('k'), '0f'.repeat(32))
  assert.equal(r.string('l', 2), 'ü')
  r.end('test')
})

test('Reader.bytes refuses a length over its bound', () => {
  const bytes = new Writer().bytes(new Uint8Array(10)).finish()
  assert.throws(() => new Reader(bytes).bytes('blob', 9), /blob is 10 bytes, at most 9/)
})
