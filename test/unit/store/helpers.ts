/** Fixtures for the store tests: throwaway folders, and entries and blocks of one small ledger. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SignedEntry, Transfer } from '../../../core/ledger/index.ts'
import { signEntry } from '../../../core/ledger/index.ts'
import { Store } from '../../../core/store/index.ts'
import { Chain, keypair, makeGenesis, transfer } from '../ledger/helpers.ts'

/** A fresh folder per call, all removed by `cleanup` (call it from `after`). */
export function tempDirs() {
  const made: string[] = []
  return {
    dir(): string {
      const d = mkdtempSync(join(tmpdir(), 'tally-store-'))
      made.push(d)
      return d
    },
    cleanup(): void {
      for (const d of made) rmSync(d, { recursive: true, force: true })
    },
  }
}

export const author = keypair(1)

export function newChain(): Chain {
  return new Chain(makeGenesis([author]), [author])
}

/**
 * A transfer by `author` with an explicit nonce, so that another process (the crash fixture)
 * can make the very same entry.
 */
export function transferEntry(
  chain: Chain,
  nonce: number,
  fields: Partial<Omit<Transfer, 'kind'>> = {},
): SignedEntry {
  const body = transfer(fields)
  return signEntry(author, { ledger: chain.state.ledger, author: author.id, nonce, time: 1, body })
}

/** Applies the next block of `chain` from `entries` and stores it with its commit and outcomes. */
export function commitBlock(store: Store, chain: Chain, entries: readonly SignedEntry[], now = 5) {
  const outcomes = chain.add(entries)
  store.appendBlock(chain.lastBlock!, chain.lastCommit!, outcomes, now)
  return { block: chain.lastBlock!, commit: chain.lastCommit!, outcomes }
}

export function openIn(dir: string, name = 'tally.db'): Store {
  return Store.open(join(dir, name))
}
