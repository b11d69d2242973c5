/**
 * Ledger throughput: signature verification (node's crypto against @noble/ed25519, the reason
 * core/ledger uses node's) and blocks of 1,000 transfers applied per second.
 */
import { createHash } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import * as ed from '@noble/ed25519'
import type { Block, Commit, Genesis, Keypair, SignedEntry } from '../core/ledger/index.ts'
import {
  blockHash,
  buildBlock,
  commitFromVotes,
  fromHex,
  keypairFromSeed,
  LedgerState,
  signEntry,
  signVote,
  Verifier,
  verifyBlock,
  verifySignature,
} from '../core/ledger/index.ts'

export interface BenchResult {
  readonly name: string
  readonly value: number
  readonly unit: string
}

const RUNS = 5
const ACCOUNTS = 1_000
const ENTRIES_PER_BLOCK = 1_000

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Runs `run` RUNS times; each returns how many operations it did in how many ms. */
function perSecond(run: () => { ops: number; ms: number }): number {
  const rates: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const { ops, ms } = run()
    rates.push((ops * 1000) / ms)
  }
  return Math.round(median(rates))
}

function timed(ops: number, body: () => void): { ops: number; ms: number } {
  const start = performance.now()
  body()
  return { ops, ms: performance.now() - start }
}

/** A tiny deterministic generator, so every run measures the same blocks. */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0
    return s / 2 ** 32
  }
}

interface Signed {
  readonly id: string
  readonly message: Uint8Array
  readonly signature: Uint8Array
  readonly publicKey: Uint8Array
}

function signedMessages(count: number): Signed[] {
  const kp = keypairFromSeed(new Uint8Array(32).fill(42))
  return Array.from({ length: count }, (_, i) => {
    const message = new TextEncoder().encode(`message ${i}`)
    return { id: kp.id, message, signature: kp.sign(message), publicKey: fromHex(kp.id) }
  })
}

function benchNodeVerify(): BenchResult {
  const items = signedMessages(1_000)
  const value = perSecond(() =>
    timed(items.length, () => {
      for (const s of items) {
        if (!verifySignature(s.id, s.message, s.signature)) throw new Error('bad signature')
      }
    }),
  )
  return { name: 'ed25519 verify (node:crypto)', value, unit: 'verifies/s' }
}

function benchNobleVerify(): BenchResult {
  ed.hashes.sha512 = (message: Uint8Array) =>
    new Uint8Array(createHash('sha512').update(message).digest())
  const items = signedMessages(200)
  const value = perSecond(() =>
    timed(items.length, () => {
      for (const s of items) {
        if (!ed.verify(s.signature, s.message, s.publicKey)) throw new Error('bad signature')
      }
    }),
  )
  return { name: 'ed25519 verify (@noble/ed25519)', value, unit: 'verifies/s' }
}

interface Fixture {
  readonly genesis: Genesis
  /** Block 1 funds every account; the rest move money between them. */
  readonly blocks: readonly Block[]
}

function transfers(
  state: LedgerState,
  members: readonly Keypair[],
  random: () => number,
  nonce: number,
): SignedEntry[] {
  return Array.from({ length: ENTRIES_PER_BLOCK }, (_, i) => {
    const from = Math.floor(random() * ACCOUNTS)
    const to = (from + 1 + Math.floor(random() * (ACCOUNTS - 1))) % ACCOUNTS
    const author = members[i % members.length]!
    return signEntry(author, {
      ledger: state.ledger,
      author: author.id,
      nonce: nonce + i,
      time: 0,
      body: {
        kind: 'transfer',
        from: `acct${from}`,
        to: `acct${to}`,
        asset: 'USD',
        amount: BigInt(1 + Math.floor(random() * 500)),
        memo: 'bench',
      },
    })
  })
}

function funding(state: LedgerState, author: Keypair): SignedEntry[] {
  return Array.from({ length: ACCOUNTS }, (_, i) =>
    signEntry(author, {
      ledger: state.ledger,
      author: author.id,
      nonce: i,
      time: 0,
      body: {
        kind: 'transfer',
        from: '@bank',
        to: `acct${i}`,
        asset: 'USD',
        amount: 1_000_000n,
        memo: '',
      },
    }),
  )
}

function fixture(blockCount: number): Fixture {
  const members = [1, 2, 3].map((n) => keypairFromSeed(new Uint8Array(32).fill(n)))
  const byId = new Map(members.map((kp) => [kp.id, kp]))
  const genesis: Genesis = {
    name: 'bench',
    time: 0,
    faultModel: 'crash',
    members: members.map((kp, i) => ({ id: kp.id, name: `m${i}` })),
    assets: [],
  }
  const state = LedgerState.fromGenesis(genesis)
  const random = lcg(7)
  const blocks: Block[] = []
  let lastCommit: Commit | null = null
  for (let h = 1; h <= blockCount + 1; h++) {
    const candidates =
      h === 1 ? funding(state, members[0]!) : transfers(state, members, random, h * 10_000)
    const proposer = state.validators()[h % 3]!.id
    const built = buildBlock({ state, candidates, proposer, round: 0, time: h, lastCommit })
    const votes = state.validators().map((v) =>
      signVote(byId.get(v.id)!, {
        ledger: state.ledger,
        type: 'precommit',
        height: h,
        round: 0,
        value: blockHash(built.block.header),
        validator: v.id,
      }),
    )
    lastCommit = commitFromVotes(votes)
    state.apply(built.block, built.execution)
    blocks.push(built.block)
  }
  return { genesis, blocks }
}

/** A state that has applied the funding block, so ~1,000 accounts hold money. */
function funded(f: Fixture): LedgerState {
  const state = LedgerState.fromGenesis(f.genesis)
  state.apply(f.blocks[0]!)
  return state
}

function benchBlocks(f: Fixture): BenchResult[] {
  const blocks = f.blocks.slice(1)
  const verifyAndApply = (verifier: () => Verifier) => () => {
    const state = funded(f)
    const v = verifier()
    return timed(blocks.length, () => {
      for (const block of blocks) {
        const verdict = verifyBlock(state, block, v)
        if (!verdict.ok) throw new Error(verdict.error)
        state.apply(block, verdict.execution)
      }
    })
  }
  // Entries reach a node by gossip and are verified there, before their block arrives.
  const warm = new Verifier()
  verifyAndApply(() => warm)()
  return [
    {
      name: 'blocks of 1,000 transfers, verifyBlock + apply, signatures not seen before',
      value: perSecond(verifyAndApply(() => new Verifier())),
      unit: 'blocks/s',
    },
    {
      name: 'blocks of 1,000 transfers, verifyBlock + apply, signatures already verified',
      value: perSecond(verifyAndApply(() => warm)),
      unit: 'blocks/s',
    },
    {
      name: 'blocks of 1,000 transfers, apply alone',
      value: perSecond(() => {
        const state = funded(f)
        return timed(blocks.length, () => {
          for (const block of blocks) state.apply(block)
        })
      }),
      unit: 'blocks/s',
    },
  ]
}

export async function benchLedger(): Promise<BenchResult[]> {
  return [benchNodeVerify(), benchNobleVerify(), ...benchBlocks(fixture(10))]
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await benchLedger()) console.log(`${r.name}: ${r.value} ${r.unit}`)
}
