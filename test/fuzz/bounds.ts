/**
 * The checks behind "nothing allocates past its bound": a decoder's buffer allocations stay
 * proportional to the bytes it was given (a length field cannot make it allocate what the input
 * does not hold), and what it accepted lies within the ledger's limits.
 */
import { ENTRY_BATCH, SYNC_BATCH, type WireMessage } from '../../core/consensus/messages.ts'
import type { WalRecord } from '../../core/consensus/types.ts'
import { encodeBlock, LIMITS } from '../../core/ledger/encoding.ts'
import { entryBodyError, genesisError } from '../../core/ledger/rules.ts'
import type { Block, Commit, Genesis, SignedEntry } from '../../core/ledger/types.ts'
import { Broken } from './engine.ts'

/**
 * Slack over twice the input: the decoded copies (signatures, strings) never exceed the input,
 * and a fresh 8 KiB Buffer pool or a garbage collection in between moves the figure a little.
 */
const ALLOCATION_SLACK = 256 * 1024

/**
 * Runs `decode` and fails if array buffers grew by more than the input could justify. A garbage
 * collection during the call can only hide growth, never invent it, so a report is a real one.
 */
export function allocationBounded<T>(inputBytes: number, decode: () => T): T {
  const before = process.memoryUsage().arrayBuffers
  const value = decode()
  const grown = process.memoryUsage().arrayBuffers - before
  if (grown > 2 * inputBytes + ALLOCATION_SLACK) {
    throw new Broken(`decoding ${inputBytes} bytes allocated ${grown} bytes of buffers`)
  }
  return value
}

export function within(ok: boolean, what: string): void {
  if (!ok) throw new Broken(`accepted input is out of bounds: ${what}`)
}

export function checkEntry(se: SignedEntry): void {
  const error = entryBodyError(se.entry.body)
  within(error === null, `entry body breaks a rule: ${error}`)
  within(se.signature.length === 64, 'entry signature length')
}

export function checkCommit(c: Commit): void {
  within(c.height >= 1, 'commit height')
  within(c.signatures.length <= LIMITS.validators, 'commit signatures')
}

export function checkBlock(b: Block): void {
  within(b.header.height >= 1, 'block height')
  within(b.entries.length <= LIMITS.entriesPerBlock, 'block entries')
  for (const e of b.entries) checkEntry(e)
  if (b.lastCommit !== null) checkCommit(b.lastCommit)
  within(encodeBlock(b).length <= LIMITS.blockBytes, 'block bytes')
}

export function checkGenesis(g: Genesis): void {
  within(genesisError(g) === null, `genesis breaks a rule: ${genesisError(g)}`)
  within(g.members.length <= LIMITS.members, 'genesis members')
  within(g.assets.length <= LIMITS.assets, 'genesis assets')
}

export function checkMessage(m: WireMessage): void {
  switch (m.type) {
    case 'entries':
      within(m.entries.length <= ENTRY_BATCH, 'entries in a batch')
      for (const e of m.entries) checkEntry(e)
      return
    case 'proposal':
      within(m.proposal.proposal.polRound < m.proposal.proposal.round, 'proposal polRound')
      checkBlock(m.proposal.block)
      return
    case 'vote':
      within(m.vote.vote.height >= 1, 'vote height')
      return
    case 'sync-request':
      return
    case 'sync-response':
      within(m.blocks.length <= SYNC_BATCH, 'blocks in a sync answer')
      for (const b of m.blocks) {
        checkBlock(b.block)
        checkCommit(b.commit)
      }
      return
  }
}

/** The record's own bounds (see wal-codec.ts): lists of at most 65,536 items. */
export function checkWal(w: WalRecord): void {
  for (const list of [w.validPolka, w.roundCertificate, w.votes, w.proposals]) {
    within(list.length <= 65_536, 'write-ahead record list')
  }
  for (const b of [w.lockedBlock, w.validBlock, ...w.proposals.map((p) => p.block)]) {
    if (b !== null) checkBlock(b)
  }
}
