/** Signing and verifying entries, votes, proposals and commits. */
import type { Keypair, Verifier, VerifyItem } from './crypto.ts'
import { sha256Hex } from './crypto.ts'
import {
  encodeEntry,
  entrySignBytesFromEncoded,
  proposalSignBytes,
  voteSignBytes,
} from './encoding.ts'
import { blockHash } from './hashing.ts'
import { shortId } from './hex.ts'
import { exceeds, minimumExceeding, thresholdsFor, totalWeight } from './quorum.ts'
import { entryBodyError } from './rules.ts'
import type {
  Block,
  Commit,
  Entry,
  FaultModel,
  Hash,
  Proposal,
  SignedEntry,
  SignedProposal,
  SignedVote,
  Validator,
  Vote,
} from './types.ts'

function requireSigner(kp: Keypair, expected: string, role: string): void {
  if (kp.id !== expected) {
    throw new Error(`keypair ${shortId(kp.id)} cannot sign as ${role} ${shortId(expected)}`)
  }
}

/** `known`, if given, is told the signature is valid, so it never spends a verification on it. */
export function signEntry(kp: Keypair, entry: Entry, known?: Verifier): SignedEntry {
  requireSigner(kp, entry.author, 'author')
  const bytes = encodeEntry(entry)
  const message = entrySignBytesFromEncoded(bytes)
  const signature = kp.sign(message)
  known?.vouch(kp.id, message, signature)
  return { entry, id: sha256Hex(bytes), signature }
}

export function signVote(kp: Keypair, vote: Vote): SignedVote {
  requireSigner(kp, vote.validator, 'validator')
  return { vote, signature: kp.sign(voteSignBytes(vote)) }
}

export function signProposal(kp: Keypair, proposal: Proposal, block: Block): SignedProposal {
  requireSigner(kp, proposal.proposer, 'proposer')
  return { proposal, signature: kp.sign(proposalSignBytes(proposal)), block }
}

/**
 * Everything about an entry but its signature, which is returned as an item to verify so that
 * a block can check all of its signatures in one batch.
 */
export function entryCheck(se: SignedEntry): { error: string } | { item: VerifyItem } {
  const ruleError = entryBodyError(se.entry.body)
  if (ruleError) return { error: `entry ${shortId(se.id)}: ${ruleError}` }
  let bytes: Uint8Array
  try {
    bytes = encodeEntry(se.entry)
  } catch (e) {
    return { error: `entry ${shortId(se.id)} cannot be encoded: ${(e as Error).message}` }
  }
  if (sha256Hex(bytes) !== se.id)
    return { error: `entry ${shortId(se.id)}: id does not match its content` }
  const item = {
    id: se.entry.author,
    message: entrySignBytesFromEncoded(bytes),
    signature: se.signature,
  }
  return { item }
}

export function invalidEntrySignature(se: SignedEntry): string {
  return `entry ${shortId(se.id)}: signature is not valid for author ${shortId(se.entry.author)}`
}

export function verifyEntry(v: Verifier, se: SignedEntry): string | null {
  const check = entryCheck(se)
  if ('error' in check) return check.error
  const { id, message, signature } = check.item
  return v.verify(id, message, signature) ? null : invalidEntrySignature(se)
}

function signBytesOr<T>(make: (value: T) => Uint8Array, value: T): Uint8Array | null {
  try {
    return make(value)
  } catch {
    return null
  }
}

export function verifyVote(v: Verifier, sv: SignedVote): boolean {
  const message = signBytesOr(voteSignBytes, sv.vote)
  return message !== null && v.verify(sv.vote.validator, message, sv.signature)
}

/** The signature, and that the proposal names this block at its own height and ledger. */
export function verifyProposal(v: Verifier, sp: SignedProposal): boolean {
  const { proposal, block } = sp
  if (proposal.ledger !== block.header.ledger || proposal.height !== block.header.height) {
    return false
  }
  const message = signBytesOr(proposalSignBytes, proposal)
  if (message === null || !v.verify(proposal.proposer, message, sp.signature)) return false
  try {
    return proposal.blockHash === blockHash(block.header)
  } catch {
    return false
  }
}

/** The precommit a commit signature must be, for the given validator. */
export function precommitFor(commit: Commit, ledger: Hash, validator: string): Vote {
  return {
    ledger,
    type: 'precommit',
    height: commit.height,
    round: commit.round,
    value: commit.blockHash,
    validator,
  }
}

/** Why `commit` does not prove its block decided by `validators`, or null when it does. */
export function commitError(
  v: Verifier,
  commit: Commit,
  validators: readonly Validator[],
  model: FaultModel,
  ledger: Hash,
): string | null {
  const weights = new Map(validators.map((val) => [val.id, val.weight]))
  const items: VerifyItem[] = []
  let weight = 0
  let previous = ''
  for (const s of commit.signatures) {
    if (s.validator === previous) return `validator ${shortId(s.validator)} signs the commit twice`
    if (s.validator < previous) return 'commit signatures are not sorted by validator id'
    previous = s.validator
    const w = weights.get(s.validator)
    if (w === undefined) return `commit signer ${shortId(s.validator)} is not a validator`
    weight += w
    const message = signBytesOr(voteSignBytes, precommitFor(commit, ledger, s.validator))
    if (message === null) return `commit at height ${commit.height} cannot be encoded`
    items.push({ id: s.validator, message, signature: s.signature })
  }
  // Weight first: it is free, and a short commit need not cost a verification per signature.
  const total = totalWeight(validators)
  const { quorum } = thresholdsFor(model)
  if (!exceeds(weight, total, quorum)) {
    const needed = minimumExceeding(total, quorum)
    return `commit has weight ${weight} of ${total}; a ${model} quorum needs more than ${quorum.num}/${quorum.den} (${needed})`
  }
  const results = v.verifyBatch(items)
  const bad = results.indexOf(false)
  if (bad !== -1) {
    return `commit signature of ${shortId(items[bad]!.id)} is not a valid precommit for block ${shortId(commit.blockHash)} at height ${commit.height} round ${commit.round}`
  }
  return null
}

/** A commit from precommits for one block in one round, sorted and with one vote per validator. */
export function commitFromVotes(votes: readonly SignedVote[]): Commit {
  const first = votes[0]
  if (!first) throw new Error('a commit needs at least one precommit')
  const { height, round, value } = first.vote
  if (value === null) throw new Error('a commit cannot be built from nil precommits')
  const byValidator = new Map<string, Uint8Array>()
  for (const { vote, signature } of votes) {
    if (vote.type !== 'precommit') throw new Error('a commit is built from precommits only')
    if (vote.height !== height || vote.round !== round || vote.value !== value) {
      throw new Error(
        `precommits for different blocks or rounds: height ${vote.height} round ${vote.round} block ${shortId(vote.value ?? 'nil')} vs height ${height} round ${round} block ${shortId(value)}`,
      )
    }
    if (!byValidator.has(vote.validator)) byValidator.set(vote.validator, signature)
  }
  const signatures = [...byValidator]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([validator, signature]) => ({ validator, signature }))
  return { height, round, blockHash: value, signatures }
}
