/**
 * The write-ahead record's bytes, as the store keeps them. The record is what stops a restarted
 * node from contradicting itself, so a record that does not decode is an error to report, never
 * something to skip.
 */
import { DecodeError, Reader, Writer } from '../ledger/codec.ts'
import {
  readBlock,
  readSignedProposal,
  readSignedProposalHead,
  readSignedVote,
  writeBlock,
  writeSignedProposalHead,
  writeSignedVote,
} from '../ledger/encoding.ts'
import type { Block, SignedProposal, SignedVote } from '../ledger/types.ts'
import type { Step, WalRecord } from './types.ts'

const STEPS: readonly Step[] = ['idle', 'propose', 'prevote', 'precommit', 'decided']
/**
 * Version 2 keeps each block once and refers to it by position: the locked block, the valid
 * block and this node's proposals are usually one block, and the record is written (and synced)
 * at every step, so a block of a thousand entries written three times a step was most of its cost.
 * Version 1 (each block inline) is still read.
 */
const VERSION = 2
/** A block referred to more than a few times per round over many rounds is not a real record. */
const MAX_BLOCKS = 65_536
const MIN_BLOCK_BYTES = 8
/** Votes in one list: a round's worth from every validator, several rounds over. */
const MAX_VOTES = 65_536
/**
 * The smallest signed vote, a nil one: ledger, type, height (u53), round (u32), no value, validator,
 * signature. Counting a round as 8 bytes or a value as present refuses records that end in nil
 * votes, as a record of a round whose proposer was down does. Proposals are larger still.
 */
const MIN_VOTE_BYTES = 32 + 1 + 8 + 4 + 1 + 32 + 64

export function encodeWal(wal: WalRecord): Uint8Array {
  // By identity: the machine hands over the same object wherever one block is meant, and two
  // equal copies stored twice are merely larger.
  const blocks: Block[] = []
  const index = new Map<Block, number>()
  const ref = (b: Block | null): number => {
    if (b === null) return -1
    let i = index.get(b)
    if (i === undefined) {
      i = blocks.push(b) - 1
      index.set(b, i)
    }
    return i
  }
  const locked = ref(wal.lockedBlock)
  const valid = ref(wal.validBlock)
  const proposed = wal.proposals.map((p) => ref(p.block))
  const w = new Writer()
  w.u8(VERSION)
  w.u53(wal.height)
  w.u53(wal.round)
  w.u8(STEPS.indexOf(wal.step))
  w.u32(blocks.length)
  for (const b of blocks) writeBlock(w, b)
  w.i32(wal.lockedRound)
  w.i32(locked)
  w.i32(wal.validRound)
  w.i32(valid)
  writeVotes(w, wal.validPolka)
  writeVotes(w, wal.roundCertificate)
  writeVotes(w, wal.votes)
  w.u32(wal.proposals.length)
  wal.proposals.forEach((p, i) => {
    writeSignedProposalHead(w, p)
    w.i32(proposed[i]!)
  })
  return w.finish()
}

/** Throws DecodeError naming what is wrong. */
export function decodeWal(bytes: Uint8Array): WalRecord {
  const r = new Reader(bytes)
  const version = r.u8('wal version')
  if (version !== 1 && version !== VERSION) {
    throw new DecodeError(`write-ahead record version ${version} is not known`)
  }
  const height = r.u53('height')
  const round = r.u53('round')
  const stepIndex = r.u8('step')
  const step = STEPS[stepIndex]
  if (step === undefined) throw new DecodeError(`write-ahead record has unknown step ${stepIndex}`)
  const record = version === 1 ? readBodyV1(r) : readBodyV2(r)
  r.end('write-ahead record')
  return { height, round, step, ...record }
}

type Body = Omit<WalRecord, 'height' | 'round' | 'step'>

function readBodyV2(r: Reader): Body {
  const n = r.count('blocks', MAX_BLOCKS, MIN_BLOCK_BYTES)
  const blocks: Block[] = []
  for (let i = 0; i < n; i++) blocks.push(readBlock(r))
  const deref = (field: string, required: boolean): Block | null => {
    const i = r.i32(field)
    if (i === -1 && !required) return null
    const b = blocks[i]
    if (b === undefined) throw new DecodeError(`write-ahead record: ${field} ${i} names no block`)
    return b
  }
  return readBody(
    r,
    (field) => deref(field, false),
    () => ({ ...readSignedProposalHead(r), block: deref('proposal block', true)! }),
  )
}

function readBodyV1(r: Reader): Body {
  return readBody(
    r,
    () => readOptionalBlock(r),
    () => readSignedProposal(r),
  )
}

/** The fields in their order; the versions differ only in how a block is written. */
function readBody(
  r: Reader,
  block: (field: string) => Block | null,
  proposal: () => SignedProposal,
): Body {
  const lockedRound = r.i32('lockedRound')
  const lockedBlock = block('locked block')
  const validRound = r.i32('validRound')
  const validBlock = block('valid block')
  const validPolka = readVotes(r, 'validPolka')
  const roundCertificate = readVotes(r, 'roundCertificate')
  const votes = readVotes(r, 'votes')
  const m = r.count('proposals', MAX_VOTES, MIN_VOTE_BYTES)
  const proposals: SignedProposal[] = []
  for (let i = 0; i < m; i++) proposals.push(proposal())
  return {
    lockedRound,
    lockedBlock,
    validRound,
    validBlock,
    validPolka,
    roundCertificate,
    votes,
    proposals,
  }
}

function readOptionalBlock(r: Reader): Block | null {
  return r.bool('has block') ? readBlock(r) : null
}

function writeVotes(w: Writer, votes: readonly SignedVote[]): void {
  w.u32(votes.length)
  for (const v of votes) writeSignedVote(w, v)
}

function readVotes(r: Reader, field: string): SignedVote[] {
  const n = r.count(field, MAX_VOTES, MIN_VOTE_BYTES)
  const out: SignedVote[] = []
  for (let i = 0; i < n; i++) out.push(readSignedVote(r))
  return out
}
