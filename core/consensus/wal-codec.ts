/**
 * The write-ahead record's bytes, as the store keeps them. The record is what stops a restarted
 * node from contradicting itself, so a record that does not decode is an error to report, never
 * something to skip.
 */
import { Reader, Writer } from '../ledger/codec.ts'
import {
  readBlock,
  readSignedProposal,
  readSignedVote,
  writeBlock,
  writeSignedProposal,
  writeSignedVote,
} from '../ledger/encoding.ts'
import type { Block, SignedProposal, SignedVote } from '../ledger/types.ts'
import type { Step, WalRecord } from './types.ts'

const STEPS: readonly Step[] = ['idle', 'propose', 'prevote', 'precommit', 'decided']
const VERSION = 1
/** Votes in one list: a round's worth from every validator, several rounds over. */
const MAX_VOTES = 65_536
const MIN_VOTE_BYTES = 32 + 1 + 8 + 8 + 1 + 32 + 64

export function encodeWal(wal: WalRecord): Uint8Array {
  const w = new Writer()
  w.u8(VERSION)
  w.u53(wal.height)
  w.u53(wal.round)
  w.u8(STEPS.indexOf(wal.step))
  w.i32(wal.lockedRound)
  writeOptionalBlock(w, wal.lockedBlock)
  w.i32(wal.validRound)
  writeOptionalBlock(w, wal.validBlock)
  writeVotes(w, wal.validPolka)
  writeVotes(w, wal.roundCertificate)
  writeVotes(w, wal.votes)
  w.u32(wal.proposals.length)
  for (const p of wal.proposals) writeSignedProposal(w, p)
  return w.finish()
}

/** Throws DecodeError naming what is wrong. */
export function decodeWal(bytes: Uint8Array): WalRecord {
  const r = new Reader(bytes)
  const version = r.u8('wal version')
  if (version !== VERSION) throw new Error(`write-ahead record version ${version} is not known`)
  const height = r.u53('height')
  const round = r.u53('round')
  const stepIndex = r.u8('step')
  const step = STEPS[stepIndex]
  if (step === undefined) throw new Error(`write-ahead record has unknown step ${stepIndex}`)
  const lockedRound = r.i32('lockedRound')
  const lockedBlock = readOptionalBlock(r)
  const validRound = r.i32('validRound')
  const validBlock = readOptionalBlock(r)
  const validPolka = readVotes(r, 'validPolka')
  const roundCertificate = readVotes(r, 'roundCertificate')
  const votes = readVotes(r, 'votes')
  const n = r.count('proposals', MAX_VOTES, MIN_VOTE_BYTES)
  const proposals: SignedProposal[] = []
  for (let i = 0; i < n; i++) proposals.push(readSignedProposal(r))
  r.end('write-ahead record')
  return {
    height,
    round,
    step,
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

function writeOptionalBlock(w: Writer, b: Block | null): void {
  w.bool(b !== null)
  if (b !== null) writeBlock(w, b)
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
