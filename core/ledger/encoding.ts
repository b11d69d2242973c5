/**
 * Canonical binary encoding of every ledger value: one byte string per value, so hashes and
 * signatures are over bytes every node computes alike. Decoders bound every size and run the
 * field rules, so a decoded value is always a well-formed one.
 *
 * Sign-bytes start with a domain tag (a length-prefixed string, hence prefix-free): a vote's
 * signature can never pass as an entry's or a proposal's.
 */
import { DecodeError, Reader, Writer } from './codec.ts'
import { sha256Hex } from './crypto.ts'
import { LIMITS, SIGNATURE_BYTES } from './limits.ts'
import { entryBodyError, genesisError } from './rules.ts'
import type {
  AssetInfo,
  Block,
  BlockHeader,
  Commit,
  CommitSignature,
  Entry,
  EntryBody,
  FaultModel,
  Genesis,
  Member,
  Proposal,
  SignedEntry,
  SignedProposal,
  SignedVote,
  Vote,
  VoteType,
} from './types.ts'

export { DecodeError, Reader, Writer } from './codec.ts'
export { LIMITS } from './limits.ts'

const ENTRY_TAG = 'tally/entry/v1'
const VOTE_TAG = 'tally/vote/v1'
const PROPOSAL_TAG = 'tally/proposal/v1'
/** Encoded once: every entry signed or verified starts with it. */
const ENTRY_TAG_BYTES = new Writer().string(ENTRY_TAG).finish()

/** UTF-8 needs at most 4 bytes per character; the rules then count characters exactly. */
const UTF8_MAX = 4
/** The smallest possible signed entry (a transfer with one-letter names and no memo). */
const MIN_SIGNED_ENTRY_BYTES = 172
const COMMIT_SIGNATURE_BYTES = 32 + SIGNATURE_BYTES
/** Room for a proposal's own fields around its block. */
const PROPOSAL_OVERHEAD_BYTES = 1024

const KIND_CODES = { transfer: 0, member: 1 } as const
const ACTION_CODES = { add: 0, remove: 1 } as const
const VOTE_CODES: Record<VoteType, number> = { prevote: 1, precommit: 2 }
const FAULT_CODES: Record<FaultModel, number> = { crash: 0, byzantine: 1 }

/** Signatures have no length prefix, so a wrong length would shift every later field. */
function writeSignature(w: Writer, signature: Uint8Array): void {
  if (signature.length !== SIGNATURE_BYTES) {
    throw new RangeError(`a signature is ${SIGNATURE_BYTES} bytes; got ${signature.length}`)
  }
  w.fixed(signature)
}

function positiveHeight(r: Reader, field: string): number {
  const h = r.u53(field)
  if (h < 1) throw new DecodeError(`${field} is 0; heights start at 1`)
  return h
}

function decodeWith<T>(bytes: Uint8Array, what: string, read: (r: Reader) => T): T {
  const r = new Reader(bytes)
  const value = read(r)
  r.end(what)
  return value
}

// Entries

export function writeEntry(w: Writer, e: Entry): void {
  w.hash(e.ledger).hash(e.author).u53(e.nonce).u53(e.time)
  const b = e.body
  if (b.kind === 'transfer') {
    w.u8(KIND_CODES.transfer).string(b.from).string(b.to).string(b.asset).u64(b.amount)
    w.string(b.memo)
  } else {
    w.u8(KIND_CODES.member).u8(ACTION_CODES[b.action]).hash(b.member).string(b.name)
  }
}

function readBody(r: Reader): EntryBody {
  const kind = r.u8('entry kind')
  if (kind === KIND_CODES.transfer) {
    return {
      kind: 'transfer',
      from: r.string('from', LIMITS.accountChars * UTF8_MAX),
      to: r.string('to', LIMITS.accountChars * UTF8_MAX),
      asset: r.string('asset', LIMITS.assetChars * UTF8_MAX),
      amount: r.u64('amount'),
      memo: r.string('memo', LIMITS.memoChars * UTF8_MAX),
    }
  }
  if (kind === KIND_CODES.member) {
    const code = r.u8('member action')
    if (code !== ACTION_CODES.add && code !== ACTION_CODES.remove) {
      throw new DecodeError(`member action ${code} is not add (0) or remove (1)`)
    }
    return {
      kind: 'member',
      action: code === ACTION_CODES.add ? 'add' : 'remove',
      member: r.hash('member'),
      name: r.string('member name', LIMITS.memberNameChars * UTF8_MAX),
    }
  }
  throw new DecodeError(`entry kind ${kind} is not transfer (0) or member (1)`)
}

export function readEntry(r: Reader): Entry {
  const ledger = r.hash('ledger')
  const author = r.hash('author')
  const nonce = r.u53('nonce')
  const time = r.u53('time')
  const body = readBody(r)
  const error = entryBodyError(body)
  if (error) throw new DecodeError(error)
  return { ledger, author, nonce, time, body }
}

export function encodeEntry(e: Entry): Uint8Array {
  const w = new Writer()
  writeEntry(w, e)
  return w.finish()
}

export function decodeEntry(bytes: Uint8Array): Entry {
  return decodeWith(bytes, 'entry', readEntry)
}

/** What an entry's author signs. */
export function entrySignBytes(e: Entry): Uint8Array {
  return entrySignBytesFromEncoded(encodeEntry(e))
}

/** The same from an entry's canonical bytes, for callers that also hash them. */
export function entrySignBytesFromEncoded(entryBytes: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(ENTRY_TAG_BYTES.length + entryBytes.length)
  bytes.set(ENTRY_TAG_BYTES)
  bytes.set(entryBytes, ENTRY_TAG_BYTES.length)
  return bytes
}

export function writeSignedEntry(w: Writer, se: SignedEntry): void {
  writeEntry(w, se.entry)
  writeSignature(w, se.signature)
}

/** The id is recomputed from the bytes read, never trusted from the sender. */
export function readSignedEntry(r: Reader): SignedEntry {
  const start = r.offset
  const entry = readEntry(r)
  const id = sha256Hex(r.view(start, r.offset))
  const signature = r.fixed('entry signature', SIGNATURE_BYTES)
  return { entry, id, signature }
}

export function encodeSignedEntry(se: SignedEntry): Uint8Array {
  const w = new Writer()
  writeSignedEntry(w, se)
  return w.finish()
}

export function decodeSignedEntry(bytes: Uint8Array): SignedEntry {
  return decodeWith(bytes, 'signed entry', readSignedEntry)
}

// Commits

export function writeCommit(w: Writer, c: Commit): void {
  w.u53(c.height).u32(c.round).hash(c.blockHash).u32(c.signatures.length)
  for (const s of c.signatures) {
    w.hash(s.validator)
    writeSignature(w, s.signature)
  }
}

export function readCommit(r: Reader): Commit {
  const height = positiveHeight(r, 'commit height')
  const round = r.u32('commit round')
  const blockHash = r.hash('commit block hash')
  const n = r.count('commit signatures', LIMITS.validators, COMMIT_SIGNATURE_BYTES)
  const signatures: CommitSignature[] = []
  for (let i = 0; i < n; i++) {
    signatures.push({
      validator: r.hash('commit validator'),
      signature: r.fixed('commit signature', SIGNATURE_BYTES),
    })
  }
  return { height, round, blockHash, signatures }
}

export function encodeCommit(c: Commit): Uint8Array {
  const w = new Writer()
  writeCommit(w, c)
  return w.finish()
}

export function decodeCommit(bytes: Uint8Array): Commit {
  return decodeWith(bytes, 'commit', readCommit)
}

// Blocks

export function writeHeader(w: Writer, h: BlockHeader): void {
  w.hash(h.ledger).u53(h.height).u32(h.round).hash(h.prevHash).hash(h.proposer).u53(h.time)
  w.hash(h.entriesHash).hash(h.stateHash).hash(h.lastCommitHash)
}

export function readHeader(r: Reader): BlockHeader {
  return {
    ledger: r.hash('block ledger'),
    height: positiveHeight(r, 'block height'),
    round: r.u32('block round'),
    prevHash: r.hash('previous block hash'),
    proposer: r.hash('proposer'),
    time: r.u53('block time'),
    entriesHash: r.hash('entries hash'),
    stateHash: r.hash('state hash'),
    lastCommitHash: r.hash('last commit hash'),
  }
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  const w = new Writer()
  writeHeader(w, h)
  return w.finish()
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  return decodeWith(bytes, 'block header', readHeader)
}

export function writeBlock(w: Writer, b: Block): void {
  writeHeader(w, b.header)
  w.u32(b.entries.length)
  for (const se of b.entries) writeSignedEntry(w, se)
  w.bool(b.lastCommit !== null)
  if (b.lastCommit) writeCommit(w, b.lastCommit)
}

export function readBlock(r: Reader): Block {
  const start = r.offset
  const header = readHeader(r)
  const n = r.count('block entries', LIMITS.entriesPerBlock, MIN_SIGNED_ENTRY_BYTES)
  const entries: SignedEntry[] = []
  for (let i = 0; i < n; i++) entries.push(readSignedEntry(r))
  const lastCommit = r.bool('has last commit') ? readCommit(r) : null
  if (r.offset - start > LIMITS.blockBytes) {
    throw new DecodeError(`block is ${r.offset - start} bytes, at most ${LIMITS.blockBytes}`)
  }
  return { header, entries, lastCommit }
}

export function encodeBlock(b: Block): Uint8Array {
  const w = new Writer()
  writeBlock(w, b)
  return w.finish()
}

export function decodeBlock(bytes: Uint8Array): Block {
  refuseOversized(bytes, 'block', LIMITS.blockBytes)
  return decodeWith(bytes, 'block', readBlock)
}

function refuseOversized(bytes: Uint8Array, what: string, max: number): void {
  if (bytes.length > max) throw new DecodeError(`${what} is ${bytes.length} bytes, at most ${max}`)
}

// Genesis

export function writeGenesis(w: Writer, g: Genesis): void {
  w.string(g.name).u53(g.time).u8(FAULT_CODES[g.faultModel]).u32(g.members.length)
  for (const m of g.members) w.hash(m.id).string(m.name)
  w.u32(g.assets.length)
  for (const a of g.assets) w.string(a.code).u8(a.decimals)
}

export function readGenesis(r: Reader): Genesis {
  const name = r.string('ledger name', LIMITS.ledgerNameChars * UTF8_MAX)
  const time = r.u53('genesis time')
  const code = r.u8('fault model')
  if (code !== FAULT_CODES.crash && code !== FAULT_CODES.byzantine) {
    throw new DecodeError(`fault model ${code} is not crash (0) or byzantine (1)`)
  }
  const faultModel: FaultModel = code === FAULT_CODES.crash ? 'crash' : 'byzantine'
  const memberCount = r.count('genesis members', LIMITS.members, 32 + 4)
  const members: Member[] = []
  for (let i = 0; i < memberCount; i++) {
    members.push({
      id: r.hash('member id'),
      name: r.string('member name', LIMITS.memberNameChars * UTF8_MAX),
    })
  }
  const assetCount = r.count('genesis assets', LIMITS.assets, 4 + 1 + 1)
  const assets: AssetInfo[] = []
  for (let i = 0; i < assetCount; i++) {
    assets.push({
      code: r.string('asset', LIMITS.assetChars * UTF8_MAX),
      decimals: r.u8('asset decimals'),
    })
  }
  const genesis: Genesis = { name, time, faultModel, members, assets }
  const error = genesisError(genesis)
  if (error) throw new DecodeError(error)
  return genesis
}

export function encodeGenesis(g: Genesis): Uint8Array {
  const w = new Writer()
  writeGenesis(w, g)
  return w.finish()
}

export function decodeGenesis(bytes: Uint8Array): Genesis {
  return decodeWith(bytes, 'genesis', readGenesis)
}

// Votes

function writeVote(w: Writer, v: Vote): void {
  w.hash(v.ledger)
    .u8(VOTE_CODES[v.type])
    .u53(v.height)
    .u32(v.round)
    .bool(v.value !== null)
  if (v.value !== null) w.hash(v.value)
  w.hash(v.validator)
}

function readVote(r: Reader): Vote {
  const ledger = r.hash('vote ledger')
  const code = r.u8('vote type')
  if (code !== VOTE_CODES.prevote && code !== VOTE_CODES.precommit) {
    throw new DecodeError(`vote type ${code} is not prevote (1) or precommit (2)`)
  }
  const type: VoteType = code === VOTE_CODES.prevote ? 'prevote' : 'precommit'
  const height = positiveHeight(r, 'vote height')
  const round = r.u32('vote round')
  const value = r.bool('vote has value') ? r.hash('vote value') : null
  const validator = r.hash('vote validator')
  return { ledger, type, height, round, value, validator }
}

export function voteSignBytes(v: Vote): Uint8Array {
  const w = new Writer().string(VOTE_TAG)
  writeVote(w, v)
  return w.finish()
}

export function writeSignedVote(w: Writer, sv: SignedVote): void {
  writeVote(w, sv.vote)
  writeSignature(w, sv.signature)
}

export function readSignedVote(r: Reader): SignedVote {
  const vote = readVote(r)
  return { vote, signature: r.fixed('vote signature', SIGNATURE_BYTES) }
}

export function encodeSignedVote(sv: SignedVote): Uint8Array {
  const w = new Writer()
  writeSignedVote(w, sv)
  return w.finish()
}

export function decodeSignedVote(bytes: Uint8Array): SignedVote {
  return decodeWith(bytes, 'vote', readSignedVote)
}

// Proposals

function writeProposal(w: Writer, p: Proposal): void {
  w.hash(p.ledger).u53(p.height).u32(p.round).i32(p.polRound).hash(p.blockHash).hash(p.proposer)
}

function readProposal(r: Reader): Proposal {
  const ledger = r.hash('proposal ledger')
  const height = positiveHeight(r, 'proposal height')
  const round = r.u32('proposal round')
  const polRound = r.i32('proposal polRound')
  // Tendermint's vr is -1 or an earlier round of the same height.
  if (polRound < -1 || polRound >= round) {
    throw new DecodeError(`proposal polRound ${polRound} must be -1 or below the round ${round}`)
  }
  const blockHash = r.hash('proposal block hash')
  const proposer = r.hash('proposer')
  return { ledger, height, round, polRound, blockHash, proposer }
}

export function proposalSignBytes(p: Proposal): Uint8Array {
  const w = new Writer().string(PROPOSAL_TAG)
  writeProposal(w, p)
  return w.finish()
}

export function writeSignedProposal(w: Writer, sp: SignedProposal): void {
  writeSignedProposalHead(w, sp)
  writeBlock(w, sp.block)
}

export function readSignedProposal(r: Reader): SignedProposal {
  return { ...readSignedProposalHead(r), block: readBlock(r) }
}

/** A signed proposal without its block, for records that keep blocks apart. */
export function writeSignedProposalHead(w: Writer, sp: Omit<SignedProposal, 'block'>): void {
  writeProposal(w, sp.proposal)
  writeSignature(w, sp.signature)
}

export function readSignedProposalHead(r: Reader): Omit<SignedProposal, 'block'> {
  const proposal = readProposal(r)
  return { proposal, signature: r.fixed('proposal signature', SIGNATURE_BYTES) }
}

export function encodeSignedProposal(sp: SignedProposal): Uint8Array {
  const w = new Writer()
  writeSignedProposal(w, sp)
  return w.finish()
}

export function decodeSignedProposal(bytes: Uint8Array): SignedProposal {
  refuseOversized(bytes, 'proposal', LIMITS.blockBytes + PROPOSAL_OVERHEAD_BYTES)
  return decodeWith(bytes, 'proposal', readSignedProposal)
}
