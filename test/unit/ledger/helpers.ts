/** Fixtures for the ledger tests: deterministic keys, a genesis, entries and a chain of blocks. */

import type {
  Block,
  Commit,
  Entry,
  EntryBody,
  FaultModel,
  Genesis,
  Keypair,
  SignedEntry,
  Transfer,
} from '../../../core/ledger/index.ts'
import {
  blockHash,
  buildBlock,
  commitFromVotes,
  keypairFromSeed,
  LedgerState,
  signEntry,
  signVote,
} from '../../../core/ledger/index.ts'

export function keypair(n: number): Keypair {
  return keypairFromSeed(new Uint8Array(32).fill(n))
}

/** Keypairs sorted by id, so that index order is validator order. */
export function keypairs(count: number): Keypair[] {
  return Array.from({ length: count }, (_, i) => keypair(i + 1)).sort((a, b) =>
    a.id < b.id ? -1 : 1,
  )
}

export function makeGenesis(
  members: readonly Keypair[],
  options: { faultModel?: FaultModel; assets?: Genesis['assets'] } = {},
): Genesis {
  return {
    name: 'Test office',
    time: 1_700_000_000_000,
    faultModel: options.faultModel ?? 'crash',
    members: members.map((kp, i) => ({ id: kp.id, name: `machine ${i}` })),
    assets: options.assets ?? [],
  }
}

export function transfer(fields: Partial<Omit<Transfer, 'kind'>> = {}): Transfer {
  return {
    kind: 'transfer',
    from: '@bank',
    to: 'alice',
    asset: 'USD',
    amount: 100n,
    memo: '',
    ...fields,
  }
}

let nonce = 0

export function entry(state: LedgerState, author: Keypair, body: EntryBody): SignedEntry {
  const e: Entry = { ledger: state.ledger, author: author.id, nonce: ++nonce, time: 1, body }
  return signEntry(author, e)
}

/**
 * A chain that builds, commits (every validator precommits) and applies blocks, the way
 * consensus would, so tests can walk heights.
 */
export class Chain {
  readonly state: LedgerState
  readonly signers: Map<string, Keypair>
  lastCommit: Commit | null = null
  lastBlock: Block | null = null

  constructor(
    readonly genesis: Genesis,
    signers: readonly Keypair[],
  ) {
    this.state = LedgerState.fromGenesis(genesis)
    this.signers = new Map(signers.map((kp) => [kp.id, kp]))
  }

  /** Builds the next block from `entries` without applying it. */
  next(entries: readonly SignedEntry[] = [], round = 0) {
    const proposer = this.state.validators()[0]!.id
    return buildBlock({
      state: this.state,
      candidates: entries,
      proposer,
      round,
      time: 1_700_000_000_000 + this.state.height,
      lastCommit: this.lastCommit,
    })
  }

  commitFor(block: Block): Commit {
    const votes = this.state.validators().map((v) => {
      const kp = this.signers.get(v.id)
      if (!kp) throw new Error(`no keypair for validator ${v.id}`)
      return signVote(kp, {
        ledger: this.state.ledger,
        type: 'precommit',
        height: block.header.height,
        round: block.header.round,
        value: blockHash(block.header),
        validator: v.id,
      })
    })
    return commitFromVotes(votes)
  }

  /** Builds, commits and applies the next block; returns its outcomes. */
  add(entries: readonly SignedEntry[] = []) {
    const { block, execution } = this.next(entries)
    const commit = this.commitFor(block)
    const outcomes = this.state.apply(block, execution)
    this.lastCommit = commit
    this.lastBlock = block
    return outcomes
  }
}
