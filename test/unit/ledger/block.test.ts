import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Block, BlockHeader, Keypair, SignedEntry } from '../../../core/ledger/index.ts'
import {
  blockHash,
  buildBlock,
  commitHash,
  entriesHash,
  signEntry,
  Verifier,
  verifyBlock,
  ZERO_HASH,
} from '../../../core/ledger/index.ts'
import { Chain, entry, keypair, keypairs, makeGenesis, transfer } from './helpers.ts'

function setup(members = 3) {
  const kps = keypairs(members)
  const chain = new Chain(makeGenesis(kps), kps)
  return { chain, state: chain.state, a: kps[0]!, kps }
}

const fund = (chain: Chain, kp: Keypair, to: string, amount = 100n) =>
  entry(chain.state, kp, transfer({ from: '@bank', to, amount }))

function verify(chain: Chain, block: Block) {
  return verifyBlock(chain.state, block, new Verifier())
}

function errorOf(chain: Chain, block: Block): string {
  const verdict = verify(chain, block)
  assert.equal(verdict.ok, false, 'block should be refused')
  return verdict.ok ? '' : verdict.error
}

function withHeader(block: Block, fields: Partial<BlockHeader>): Block {
  return { ...block, header: { ...block.header, ...fields } }
}

test('buildBlock sets every header field from the state and its execution', () => {
  const { chain, a } = setup()
  chain.add([fund(chain, a, 'alice')])
  const e = fund(chain, a, 'bob')
  const { block, execution } = buildBlock({
    state: chain.state,
    candidates: [e],
    proposer: a.id,
    round: 2,
    time: 1234,
    lastCommit: chain.lastCommit,
  })
  assert.deepEqual(block.header, {
    ledger: chain.state.ledger,
    height: 2,
    round: 2,
    prevHash: blockHash(chain.lastBlock!.header),
    proposer: a.id,
    time: 1234,
    entriesHash: entriesHash([e]),
    stateHash: execution.stateHash,
    lastCommitHash: commitHash(chain.lastCommit),
  })
  assert.deepEqual(block.entries, [e])
  assert.equal(block.lastCommit, chain.lastCommit)
})

test('buildBlock skips ids already applied, repeats and other ledgers, and stops at maxEntries', () => {
  const { chain, a } = setup()
  const old = fund(chain, a, 'alice')
  chain.add([old])
  const fresh = [fund(chain, a, 'b'), fund(chain, a, 'c'), fund(chain, a, 'd')]
  const foreign = signEntry(a, { ...fresh[0]!.entry, ledger: 'ef'.repeat(32) })
  const { block } = buildBlock({
    state: chain.state,
    candidates: [old, fresh[0]!, foreign, fresh[0]!, fresh[1]!, fresh[2]!],
    proposer: a.id,
    round: 0,
    time: 0,
    lastCommit: chain.lastCommit,
    maxEntries: 2,
  })
  assert.deepEqual(
    block.entries.map((se) => se.id),
    [fresh[0]!.id, fresh[1]!.id],
  )
})

test('verifyBlock accepts a block built by buildBlock, and its execution applies it', () => {
  const { chain, a } = setup()
  chain.add([fund(chain, a, 'alice')])
  const { block } = chain.next([fund(chain, a, 'bob')])
  const verdict = verify(chain, block)
  assert.ok(verdict.ok, verdict.ok ? '' : verdict.error)
  assert.equal(chain.state.apply(block, verdict.execution), verdict.execution.outcomes)
  assert.equal(chain.state.balance('bob', 'USD'), 100n)
})

test('verifyBlock refuses a wrong previous block hash', () => {
  const { chain } = setup()
  chain.add()
  const { block } = chain.next()
  assert.match(
    errorOf(chain, withHeader(block, { prevHash: 'ab'.repeat(32) })),
    /names previous block abababab/,
  )
})

test('verifyBlock refuses a wrong state hash', () => {
  const { chain, a } = setup()
  const { block } = chain.next([fund(chain, a, 'alice')])
  assert.match(
    errorOf(chain, withHeader(block, { stateHash: 'ab'.repeat(32) })),
    /block 1 claims state abababab but executing it gives/,
  )
})

test('verifyBlock refuses a block with one bad entry signature', () => {
  const { chain, a } = setup()
  const good = fund(chain, a, 'alice')
  const bad = fund(chain, a, 'bob')
  const signature = bad.signature.slice()
  signature[0] = signature[0]! ^ 1
  const forged: SignedEntry = { ...bad, signature }
  const { block } = chain.next([good, forged])
  assert.match(
    errorOf(chain, block),
    new RegExp(`entry ${bad.id.slice(0, 8)}: signature is not valid`),
  )
})

test('a decided block (its commit verified by the caller) is not made to re-verify entry signatures, but is still executed', () => {
  const { chain, a } = setup()
  const bad = fund(chain, a, 'bob')
  const signature = bad.signature.slice()
  signature[0] = signature[0]! ^ 1
  const { block } = chain.next([{ ...bad, signature }])
  const verifier = new Verifier()
  const decided = verifyBlock(chain.state, block, verifier, { decided: true })
  assert.equal(decided.ok, true)
  assert.equal(verifier.stats.misses, 0, 'no signature was checked')
  const wrongState = withHeader(block, { stateHash: 'ab'.repeat(32) })
  assert.equal(verifyBlock(chain.state, wrongState, verifier, { decided: true }).ok, false)
})

test('verifyBlock refuses an entry whose id does not match its content', () => {
  const { chain, a } = setup()
  const e = fund(chain, a, 'alice')
  const { block } = chain.next([{ ...e, entry: { ...e.entry, nonce: e.entry.nonce + 1 } }])
  assert.match(errorOf(chain, block), /id does not match its content/)
})

test('verifyBlock refuses an entry of another ledger', () => {
  const { chain, a } = setup()
  const e = fund(chain, a, 'alice')
  const foreign = signEntry(a, { ...e.entry, ledger: 'ef'.repeat(32) })
  const { block } = chain.next()
  const tampered: Block = { ...block, entries: [foreign] }
  const fixed = withHeader(tampered, { entriesHash: entriesHash([foreign]) })
  assert.match(errorOf(chain, fixed), /is for ledger efefefef/)
})

test('verifyBlock refuses a block at height 2 without the commit of block 1', () => {
  const { chain } = setup()
  chain.add()
  chain.lastCommit = null
  const { block } = chain.next()
  assert.equal(block.header.lastCommitHash, ZERO_HASH)
  assert.equal(errorOf(chain, block), 'block 2 has no commit of block 1')
})

test('verifyBlock refuses a commit at height 1, where there is no previous block', () => {
  const { chain } = setup()
  chain.add()
  const commit = chain.lastCommit
  const fresh = setup()
  fresh.chain.lastCommit = commit
  const { block } = fresh.chain.next()
  assert.match(errorOf(fresh.chain, block), /block 1 has a last commit/)
})

test('verifyBlock refuses a last commit short of quorum of the previous validators', () => {
  const { chain } = setup(3)
  chain.add()
  const commit = chain.lastCommit!
  chain.lastCommit = { ...commit, signatures: commit.signatures.slice(0, 1) }
  const { block } = chain.next()
  assert.match(errorOf(chain, block), /block 2 last commit: commit has weight 1 of 3/)
})

test('verifyBlock refuses a last commit of another block', () => {
  const { chain } = setup()
  chain.add()
  const { block: other } = chain.next([], 1)
  chain.lastCommit = chain.commitFor({ ...other, header: { ...other.header, height: 1 } })
  const { block } = chain.next()
  assert.match(errorOf(chain, block), /not of its previous block/)
})

test('verifyBlock refuses a last commit hash that does not match the last commit', () => {
  const { chain } = setup()
  chain.add()
  const { block } = chain.next()
  assert.match(
    errorOf(chain, withHeader(block, { lastCommitHash: 'ab'.repeat(32) })),
    /last commit hash does not match/,
  )
})

test('verifyBlock refuses an entries hash that does not match the entries', () => {
  const { chain, a } = setup()
  const { block } = chain.next([fund(chain, a, 'alice')])
  assert.match(
    errorOf(chain, withHeader(block, { entriesHash: ZERO_HASH })),
    /entries hash does not match/,
  )
})

test('verifyBlock refuses a wrong height or ledger', () => {
  const { chain } = setup()
  const { block } = chain.next()
  assert.match(errorOf(chain, withHeader(block, { height: 2 })), /block height is 2; expected 1/)
  assert.match(
    errorOf(chain, withHeader(block, { ledger: 'ab'.repeat(32) })),
    /is for ledger abababab/,
  )
})

test('verifyBlock refuses a proposer outside the validator set', () => {
  const { chain } = setup()
  const { block } = chain.next()
  assert.match(
    errorOf(chain, withHeader(block, { proposer: keypair(90).id })),
    /proposer [0-9a-f]{8} is not a validator at height 1/,
  )
})

test('verifyBlock uses the verifier memo: entries already verified are not verified again', () => {
  const { chain, a } = setup()
  const entries = [fund(chain, a, 'x'), fund(chain, a, 'y')]
  const { block } = chain.next(entries)
  const verifier = new Verifier()
  assert.ok(verifyBlock(chain.state, block, verifier).ok)
  const { misses } = verifier.stats
  assert.ok(verifyBlock(chain.state, block, verifier).ok)
  assert.equal(verifier.stats.misses, misses)
})

test('verifyBlock answers with an error, never throws, on values that cannot be encoded', () => {
  const { chain, a } = setup()
  const e = fund(chain, a, 'x')
  const { block } = chain.next([e])
  const verdict = verify(chain, { ...block, entries: [{ ...e, id: 'not hex' }] })
  assert.equal(verdict.ok, false)
})
