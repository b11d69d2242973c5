/** Building a block from candidate entries, and verifying a block received from a proposer. */
import type { Verifier, VerifyItem } from './crypto.ts'
import { commitHash, entriesHash } from './hashing.ts'
import { shortId } from './hex.ts'
import { LIMITS } from './limits.ts'
import { commitError, entryCheck, invalidEntrySignature } from './signing.ts'
import type { Execution, LedgerState } from './state.ts'
import type { Block, Commit, NodeId, SignedEntry } from './types.ts'

export interface BuildBlockInput {
  readonly state: LedgerState
  readonly candidates: readonly SignedEntry[]
  readonly proposer: NodeId
  readonly round: number
  readonly time: number
  readonly lastCommit: Commit | null
  readonly maxEntries?: number
}

/**
 * The next block from `candidates` in order, leaving out ids already applied, repeats and
 * entries of another ledger (any of which would make the whole block invalid or wasteful).
 */
export function buildBlock(input: BuildBlockInput): { block: Block; execution: Execution } {
  const { state, candidates, proposer, round, time, lastCommit } = input
  const max = Math.min(input.maxEntries ?? LIMITS.entriesPerBlock, LIMITS.entriesPerBlock)
  const entries: SignedEntry[] = []
  const taken = new Set<string>()
  for (const se of candidates) {
    if (entries.length >= max) break
    if (taken.has(se.id) || state.isCommitted(se.id) || se.entry.ledger !== state.ledger) continue
    taken.add(se.id)
    entries.push(se)
  }
  const execution = state.execute(entries)
  const block: Block = {
    header: {
      ledger: state.ledger,
      height: state.height + 1,
      round,
      prevHash: state.lastBlockHash,
      proposer,
      time,
      entriesHash: entriesHash(entries),
      stateHash: execution.stateHash,
      lastCommitHash: commitHash(lastCommit),
    },
    entries,
    lastCommit,
  }
  return { block, execution }
}

/**
 * Whether a block's body is the one its header (and so its hash) commits to. A mismatch is not a
 * verdict on the block: it is a corrupted or forged copy, and says nothing of the real one.
 */
export function bodyMismatch(block: Block): string | null {
  if (block.entries.length > LIMITS.entriesPerBlock) {
    return `has ${block.entries.length} entries, at most ${LIMITS.entriesPerBlock}`
  }
  if (block.header.entriesHash !== entriesHash(block.entries)) {
    return 'entries hash does not match its entries'
  }
  if (block.header.lastCommitHash !== commitHash(block.lastCommit)) {
    return 'last commit hash does not match its last commit'
  }
  return null
}

export type BlockVerdict = { ok: true; execution: Execution } | { ok: false; error: string }

/** Checks that need no signature or execution, cheapest first. */
function headerError(state: LedgerState, block: Block): string | null {
  const { header } = block
  const expected = state.height + 1
  if (header.ledger !== state.ledger) {
    return `block is for ledger ${shortId(header.ledger)}, not ${shortId(state.ledger)}`
  }
  if (header.height !== expected) return `block height is ${header.height}; expected ${expected}`
  if (header.prevHash !== state.lastBlockHash) {
    return `block ${expected} names previous block ${shortId(header.prevHash)}, but the last block is ${shortId(state.lastBlockHash)}`
  }
  const mismatch = bodyMismatch(block)
  if (mismatch !== null) return `block ${expected} ${mismatch}`
  if (!state.validators().some((v) => v.id === header.proposer)) {
    return `block proposer ${shortId(header.proposer)} is not a validator at height ${expected}`
  }
  return null
}

function lastCommitError(state: LedgerState, block: Block, verifier: Verifier): string | null {
  const { header, lastCommit } = block
  if (header.height === 1) {
    return lastCommit === null ? null : 'block 1 has a last commit, but there is no block 0'
  }
  if (lastCommit === null)
    return `block ${header.height} has no commit of block ${header.height - 1}`
  if (lastCommit.height !== header.height - 1 || lastCommit.blockHash !== header.prevHash) {
    return `block ${header.height} carries a commit of block ${shortId(lastCommit.blockHash)} at height ${lastCommit.height}, not of its previous block`
  }
  const error = commitError(
    verifier,
    lastCommit,
    state.previousValidators(),
    state.genesis.faultModel,
    state.ledger,
  )
  return error && `block ${header.height} last commit: ${error}`
}

function entriesError(state: LedgerState, block: Block, verifier: Verifier | null): string | null {
  const items: VerifyItem[] = []
  for (const se of block.entries) {
    if (se.entry.ledger !== state.ledger) {
      return `entry ${shortId(se.id)} is for ledger ${shortId(se.entry.ledger)}, not ${shortId(state.ledger)}`
    }
    const check = entryCheck(se)
    if ('error' in check) return check.error
    items.push(check.item)
  }
  if (verifier === null) return null
  const bad = verifier.verifyBatch(items).indexOf(false)
  return bad === -1 ? null : invalidEntrySignature(block.entries[bad]!)
}

/**
 * Everything a node checks before voting for a block, and the execution to apply it with.
 *
 * `decided`: the block comes with a commit the caller has verified. Its signers checked every
 * entry signature before voting (under either fault model a quorum holds at least one correct
 * validator), and the commit binds the signatures through the entries hash, so they are not
 * checked again: a node catching up would otherwise spend most of its time re-verifying them.
 */
export function verifyBlock(
  state: LedgerState,
  block: Block,
  verifier: Verifier,
  opts: { readonly decided?: boolean } = {},
): BlockVerdict {
  try {
    return verdict(state, block, verifier, opts.decided === true)
  } catch (e) {
    // Only a block built by hand (not decoded) can hold values that do not even encode.
    return { ok: false, error: `block cannot be verified: ${(e as Error).message}` }
  }
}

function verdict(
  state: LedgerState,
  block: Block,
  verifier: Verifier,
  decided: boolean,
): BlockVerdict {
  const error =
    headerError(state, block) ??
    lastCommitError(state, block, verifier) ??
    entriesError(state, block, decided ? null : verifier)
  if (error) return { ok: false, error }
  const execution = state.execute(block.entries)
  if (execution.stateHash !== block.header.stateHash) {
    return {
      ok: false,
      error: `block ${block.header.height} claims state ${shortId(block.header.stateHash)} but executing it gives ${shortId(execution.stateHash)}`,
    }
  }
  return { ok: true, execution }
}
