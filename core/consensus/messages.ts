/**
 * What nodes say to each other, and its canonical bytes. Every decoder is bounded: a peer
 * cannot make us allocate more than the limits allow, whatever count it declares.
 */
import { DecodeError, Reader, Writer } from '../ledger/codec.ts'
import {
  readBlock,
  readCommit,
  readSignedEntry,
  readSignedProposal,
  readSignedVote,
  writeBlock,
  writeCommit,
  writeSignedEntry,
  writeSignedProposal,
  writeSignedVote,
} from '../ledger/encoding.ts'
import { LIMITS } from '../ledger/limits.ts'
import type { Block, Commit, SignedEntry, SignedProposal, SignedVote } from '../ledger/types.ts'
import { MAX_ROUND } from './types.ts'

/** Most blocks in one sync answer; with the byte bound of each block it caps the answer's size. */
export const SYNC_BATCH = 64
/** Most entries in one gossip batch. */
export const ENTRY_BATCH = 1_000

export interface SyncedBlock {
  readonly block: Block
  /** The precommits that decided this block (the next block carries them too, once it exists). */
  readonly commit: Commit
}

export type WireMessage =
  | { readonly type: 'entries'; readonly entries: readonly SignedEntry[] }
  | { readonly type: 'proposal'; readonly proposal: SignedProposal }
  | { readonly type: 'vote'; readonly vote: SignedVote }
  /** Asks for the blocks from height `from` on, as many as the answerer will send. */
  | { readonly type: 'sync-request'; readonly from: number }
  /** `tip` is the answerer's last committed height, so the asker knows whether to ask again. */
  | {
      readonly type: 'sync-response'
      readonly tip: number
      readonly blocks: readonly SyncedBlock[]
    }

/** The messages consensus itself signs and re-sends. */
export type ConsensusMessage = Extract<WireMessage, { type: 'proposal' | 'vote' }>

// Lower bounds on an item's encoding, so a declared count is checked against the bytes left
// before anything is allocated: a signed entry carries at least its author, nonce, time and
// signature; a synced block at least its header and a commit's height, round and hash.
const MIN_ENTRY_BYTES = 32 + 8 + 8 + 64
const MIN_BLOCK_BYTES = 32 * 6 + 8 * 2

const TAGS = ['entries', 'proposal', 'vote', 'sync-request', 'sync-response'] as const

export function encodeMessage(m: WireMessage): Uint8Array {
  const w = new Writer()
  w.u8(TAGS.indexOf(m.type))
  switch (m.type) {
    case 'entries':
      w.u32(m.entries.length)
      for (const e of m.entries) writeSignedEntry(w, e)
      break
    case 'proposal':
      writeSignedProposal(w, m.proposal)
      break
    case 'vote':
      writeSignedVote(w, m.vote)
      break
    case 'sync-request':
      w.u53(m.from)
      break
    case 'sync-response':
      w.u53(m.tip)
      w.u32(m.blocks.length)
      for (const b of m.blocks) {
        writeBlock(w, b.block)
        writeCommit(w, b.commit)
      }
      break
  }
  return w.finish()
}

/** Throws DecodeError with a message naming what was wrong. */
export function decodeMessage(bytes: Uint8Array): WireMessage {
  if (bytes.length > LIMITS.blockBytes * 2) {
    throw new DecodeError(`message is ${bytes.length} bytes; at most ${LIMITS.blockBytes * 2}`)
  }
  const r = new Reader(bytes)
  const tag = r.u8('message type')
  let m: WireMessage
  switch (TAGS[tag]) {
    case 'entries': {
      const n = r.count('entries', ENTRY_BATCH, MIN_ENTRY_BYTES)
      const entries: SignedEntry[] = []
      for (let i = 0; i < n; i++) entries.push(readSignedEntry(r))
      m = { type: 'entries', entries }
      break
    }
    case 'proposal':
      m = { type: 'proposal', proposal: readSignedProposal(r) }
      checkRound(m.proposal.proposal.round, 'proposal')
      break
    case 'vote':
      m = { type: 'vote', vote: readSignedVote(r) }
      checkRound(m.vote.vote.round, 'vote')
      break
    case 'sync-request':
      m = { type: 'sync-request', from: r.u53('from') }
      break
    case 'sync-response': {
      const tip = r.u53('tip')
      const n = r.count('blocks', SYNC_BATCH, MIN_BLOCK_BYTES)
      const blocks: SyncedBlock[] = []
      for (let i = 0; i < n; i++) blocks.push({ block: readBlock(r), commit: readCommit(r) })
      m = { type: 'sync-response', tip, blocks }
      break
    }
    default:
      throw new DecodeError(`unknown message type ${tag}`)
  }
  r.end('message')
  return m
}

/** No node enters a round above MAX_ROUND, so a message of one is wrong on every node. */
function checkRound(round: number, what: string): void {
  if (round > MAX_ROUND) throw new DecodeError(`${what} round ${round} is above ${MAX_ROUND}`)
}
