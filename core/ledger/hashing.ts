/** The hashes that name things: ledgers, entries, blocks, commits and a block's entry list. */
import { Writer } from './codec.ts'
import { sha256Hex } from './crypto.ts'
import { encodeCommit, encodeEntry, encodeGenesis, encodeHeader } from './encoding.ts'
import type { BlockHeader, Commit, Entry, Genesis, Hash, SignedEntry } from './types.ts'
import { ZERO_HASH } from './types.ts'

const ENTRIES_TAG = 'tally/entries/v1'

export function ledgerId(g: Genesis): Hash {
  return sha256Hex(encodeGenesis(g))
}

export function entryId(e: Entry): Hash {
  return sha256Hex(encodeEntry(e))
}

export function blockHash(h: BlockHeader): Hash {
  return sha256Hex(encodeHeader(h))
}

export function commitHash(c: Commit | null): Hash {
  return c === null ? ZERO_HASH : sha256Hex(encodeCommit(c))
}

/**
 * Covers each entry's id and its signature: with the id alone, a relaying peer could swap an
 * entry's signature for garbage under an unchanged block hash, and make honest nodes judge the
 * real block by the forged copy.
 */
export function entriesHash(entries: readonly SignedEntry[]): Hash {
  const w = new Writer().string(ENTRIES_TAG).u32(entries.length)
  for (const e of entries) w.hash(e.id).fixed(e.signature)
  return sha256Hex(w.finish())
}
