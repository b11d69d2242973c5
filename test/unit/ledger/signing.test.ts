import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  Commit,
  Entry,
  FaultModel,
  Keypair,
  SignedVote,
  Validator,
  Vote,
} from '../../../core/ledger/index.ts'
import {
  blockHash,
  commitError,
  commitFromVotes,
  DecodeError,
  decodeSignedEntry,
  decodeSignedProposal,
  decodeSignedVote,
  encodeSignedEntry,
  encodeSignedProposal,
  encodeSignedVote,
  entryId,
  entrySignBytes,
  signEntry,
  signProposal,
  signVote,
  Verifier,
  verifyEntry,
  verifyProposal,
  verifyVote,
} from '../../../core/ledger/index.ts'
import { Chain, keypair, keypairs, makeGenesis, transfer } from './helpers.ts'

const ledger = 'ab'.repeat(32)
const author = keypair(1)
const entry: Entry = {
  ledger,
  author: author.id,
  nonce: 1,
  time: 2,
  body: transfer({ memo: 'rent' }),
}

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice()
  copy[index] = copy[index]! ^ 0x01
  return copy
}

test('a signed entry verifies', () => {
  assert.equal(verifyEntry(new Verifier(), signEntry(author, entry)), null)
})

test('one flipped bit anywhere in an entry signature fails verification', () => {
  const se = signEntry(author, entry)
  for (let i = 0; i < 64; i++) {
    const error = verifyEntry(new Verifier(), { ...se, signature: flipped(se.signature, i) })
    assert.match(error ?? '', /signature is not valid/, `byte ${i}`)
  }
})

test('one flipped bit anywhere in the signed content of an entry fails verification', () => {
  const bytes = encodeSignedEntry(signEntry(author, entry))
  const signatureStart = bytes.length - 64
  let decodable = 0
  for (let i = 0; i < signatureStart; i++) {
    let se: ReturnType<typeof decodeSignedEntry>
    try {
      se = decodeSignedEntry(flipped(bytes, i))
    } catch (e) {
      assert.ok(e instanceof DecodeError)
      continue
    }
    decodable++
    assert.notEqual(verifyEntry(new Verifier(), se), null, `byte ${i}`)
  }
  assert.ok(decodable > 50)
})

test('an entry whose id does not match its content fails verification', () => {
  const se = signEntry(author, entry)
  assert.match(
    verifyEntry(new Verifier(), { ...se, id: 'ff'.repeat(32) }) ?? '',
    /id does not match/,
  )
})

test('an entry signed by someone other than its author fails verification', () => {
  const forged = { entry, id: entryId(entry), signature: keypair(2).sign(entrySignBytes(entry)) }
  assert.match(verifyEntry(new Verifier(), forged) ?? '', /signature is not valid for author/)
})

test('an entry that breaks the field rules fails verification even when signed', () => {
  const bad = signEntry(author, { ...entry, body: transfer({ memo: 'x'.repeat(281) }) })
  assert.match(verifyEntry(new Verifier(), bad) ?? '', /memo is 281 characters; at most 280/)
})

test('signEntry refuses a keypair that is not the author', () => {
  assert.throws(() => signEntry(keypair(2), entry), /cannot sign as author/)
})

const vote: Vote = {
  ledger,
  type: 'prevote',
  height: 3,
  round: 1,
  value: 'cd'.repeat(32),
  validator: author.id,
}

test('one flipped bit in a vote signature or its content fails verification', () => {
  const sv = signVote(author, vote)
  assert.equal(verifyVote(new Verifier(), sv), true)
  const bytes = encodeSignedVote(sv)
  for (let i = 0; i < bytes.length; i++) {
    let decoded: SignedVote
    try {
      decoded = decodeSignedVote(flipped(bytes, i))
    } catch {
      continue
    }
    assert.equal(verifyVote(new Verifier(), decoded), false, `byte ${i}`)
  }
})

test('a nil vote verifies and is distinct from a vote for a block', () => {
  const nil = signVote(author, { ...vote, value: null })
  assert.equal(verifyVote(new Verifier(), nil), true)
  assert.equal(verifyVote(new Verifier(), { ...nil, vote: vote }), false)
})

test('a vote signature never passes as an entry signature (domain separation)', () => {
  const sv = signVote(author, vote)
  const se = signEntry(author, entry)
  assert.notEqual(verifyEntry(new Verifier(), { ...se, signature: sv.signature }), null)
})

test('one flipped bit in a proposal signature or its content fails verification', () => {
  const chain = new Chain(makeGenesis([author]), [author])
  const { block } = chain.next()
  const proposal = {
    ledger: chain.state.ledger,
    height: 1,
    round: 0,
    polRound: -1,
    blockHash: blockHash(block.header),
    proposer: author.id,
  }
  const sp = signProposal(author, proposal, block)
  assert.equal(verifyProposal(new Verifier(), sp), true)
  const bytes = encodeSignedProposal(sp)
  // The proposal fields and signature come first; the block follows.
  const proposalBytes = 32 + 8 + 4 + 4 + 32 + 32 + 64
  for (let i = 0; i < proposalBytes; i++) {
    let decoded: ReturnType<typeof decodeSignedProposal>
    try {
      decoded = decodeSignedProposal(flipped(bytes, i))
    } catch {
      continue
    }
    assert.equal(verifyProposal(new Verifier(), decoded), false, `byte ${i}`)
  }
})

test('a validly signed proposal for another block than the one it carries fails verification', () => {
  const chain = new Chain(makeGenesis([author]), [author])
  const { block } = chain.next()
  const proposal = {
    ledger: chain.state.ledger,
    height: 1,
    round: 0,
    polRound: -1,
    blockHash: 'ee'.repeat(32),
    proposer: author.id,
  }
  assert.equal(verifyProposal(new Verifier(), signProposal(author, proposal, block)), false)
})

function precommits(signers: readonly Keypair[], type: Vote['type'] = 'precommit'): SignedVote[] {
  return signers.map((kp) =>
    signVote(kp, { ledger, type, height: 7, round: 2, value: 'cd'.repeat(32), validator: kp.id }),
  )
}

function validatorsOf(kps: readonly Keypair[]): Validator[] {
  return kps.map((kp) => ({ id: kp.id, weight: 1 }))
}

function check(commit: Commit, validators: readonly Keypair[], model: FaultModel): string | null {
  return commitError(new Verifier(), commit, validatorsOf(validators), model, ledger)
}

test('crash mode: 2 of 3 precommits commit, 1 of 3 is one vote short of quorum', () => {
  const vals = keypairs(3)
  assert.equal(check(commitFromVotes(precommits(vals.slice(0, 2))), vals, 'crash'), null)
  assert.equal(
    check(commitFromVotes(precommits(vals.slice(0, 1))), vals, 'crash'),
    'commit has weight 1 of 3; a crash quorum needs more than 1/2 (2)',
  )
})

test('byzantine mode: 3 of 4 precommits commit, 2 of 4 is one vote short of quorum', () => {
  const vals = keypairs(4)
  assert.equal(check(commitFromVotes(precommits(vals.slice(0, 3))), vals, 'byzantine'), null)
  assert.equal(
    check(commitFromVotes(precommits(vals.slice(0, 2))), vals, 'byzantine'),
    'commit has weight 2 of 4; a byzantine quorum needs more than 2/3 (3)',
  )
})

test('a commit counting one validator twice is refused', () => {
  const vals = keypairs(3)
  const one = commitFromVotes(precommits(vals.slice(0, 1)))
  const doubled = { ...one, signatures: [one.signatures[0]!, one.signatures[0]!] }
  assert.match(check(doubled, vals, 'crash') ?? '', /signs the commit twice/)
})

test('a commit signed by a non-validator is refused, even when its weight would reach quorum', () => {
  const vals = keypairs(3)
  const outsider = keypair(99)
  const commit = commitFromVotes(precommits([vals[0]!, outsider]))
  assert.match(check(commit, vals, 'crash') ?? '', /is not a validator/)
})

test('prevote signatures presented as a commit are refused', () => {
  const vals = keypairs(3)
  const prevotes = precommits(vals.slice(0, 2), 'prevote')
  const commit: Commit = {
    height: 7,
    round: 2,
    blockHash: 'cd'.repeat(32),
    signatures: prevotes.map((sv) => ({ validator: sv.vote.validator, signature: sv.signature })),
  }
  assert.match(check(commit, vals, 'crash') ?? '', /is not a valid precommit/)
})

test('one flipped bit in a commit signature or in the committed block hash fails the commit', () => {
  const vals = keypairs(3)
  const commit = commitFromVotes(precommits(vals))
  const first = commit.signatures[0]!
  const badSignature = {
    ...commit,
    signatures: [
      { ...first, signature: flipped(first.signature, 10) },
      ...commit.signatures.slice(1),
    ],
  }
  assert.match(check(badSignature, vals, 'crash') ?? '', /is not a valid precommit/)
  const otherBlock = { ...commit, blockHash: `ce${commit.blockHash.slice(2)}` }
  assert.match(check(otherBlock, vals, 'crash') ?? '', /is not a valid precommit/)
  const otherRound = { ...commit, round: 3 }
  assert.match(check(otherRound, vals, 'crash') ?? '', /is not a valid precommit/)
})

test('a commit for another ledger fails (the ledger is in every precommit)', () => {
  const vals = keypairs(3)
  const commit = commitFromVotes(precommits(vals))
  const error = commitError(new Verifier(), commit, validatorsOf(vals), 'crash', 'ef'.repeat(32))
  assert.match(error ?? '', /is not a valid precommit/)
})

test('commit signatures out of validator order are refused', () => {
  const vals = keypairs(3)
  const commit = commitFromVotes(precommits(vals))
  const reversed = { ...commit, signatures: [...commit.signatures].reverse() }
  assert.match(check(reversed, vals, 'crash') ?? '', /not sorted by validator id/)
})

test('commitFromVotes sorts by validator and keeps one signature per validator', () => {
  const vals = keypairs(3)
  const votes = precommits(vals)
  const commit = commitFromVotes([votes[2]!, votes[0]!, votes[2]!, votes[1]!])
  assert.deepEqual(
    commit.signatures.map((s) => s.validator),
    vals.map((kp) => kp.id),
  )
  assert.equal(commit.height, 7)
  assert.equal(commit.round, 2)
})

test('commitFromVotes refuses prevotes, nil votes and votes for different blocks', () => {
  const vals = keypairs(2)
  assert.throws(() => commitFromVotes(precommits(vals, 'prevote')), /precommits only/)
  const nil = signVote(vals[0]!, {
    ...vote,
    type: 'precommit',
    value: null,
    validator: vals[0]!.id,
  })
  assert.throws(() => commitFromVotes([nil]), /nil/)
  const [a] = precommits(vals)
  const b = signVote(vals[1]!, { ...a!.vote, value: 'ee'.repeat(32), validator: vals[1]!.id })
  assert.throws(() => commitFromVotes([a!, b]), /different blocks or rounds/)
  assert.throws(() => commitFromVotes([]), /at least one/)
})

test('signEntry vouches for its signature to the verifier it is given: checking it later costs no verification', () => {
  const v = new Verifier()
  const se = signEntry(author, entry, v)
  assert.equal(verifyEntry(v, se), null)
  assert.deepEqual(v.stats, { hits: 1, misses: 0 })
  // Another verifier was told nothing, and a copy with another signature is still checked.
  const fresh = new Verifier()
  assert.equal(verifyEntry(fresh, se), null)
  assert.equal(fresh.stats.misses, 1)
  const forged = { ...se, signature: new Uint8Array(64) }
  assert.notEqual(verifyEntry(v, forged), null)
  assert.equal(v.stats.misses, 1)
})
