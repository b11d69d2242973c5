/**
 * `npm run bench:core`: the core figures of Tally in one process. Signature verification and
 * block application come from `bench/ledger.ts`; consensus throughput comes from the
 * deterministic simulator (`test/sim/world.ts`) running real replicas over a healthy simulated
 * LAN, measured in heights and entries committed per second of CPU. Prints a table, then one
 * JSON line `{"bench":"core", ...}`.
 */
import { Verifier } from '../core/ledger/crypto.ts'
import type { EntryBody } from '../core/ledger/types.ts'
import { Prng } from '../test/sim/prng.ts'
import { World } from '../test/sim/world.ts'
import { type BenchResult, benchLedger } from './ledger.ts'

/** Virtual time each simulated cluster runs for. */
const VIRTUAL_MS = 30_000
/** A client submits one transfer this often, at a random node. */
const SUBMIT_EVERY_MS = 20
/** One in this many transfers brings money in from `@bank`; the rest move it between users. */
const FUNDING_EVERY = 4
const SIM_RUNS = 3
const SEED = 1
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']

interface SimRun {
  /** The highest height any replica reached. */
  readonly heights: number
  /** Entries committed (not rejected, not duplicates) in those heights. */
  readonly entries: number
  readonly submitted: number
  readonly cpuMs: number
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

function transfer(from: string, to: string, amount: number): EntryBody {
  return { kind: 'transfer', from, to, asset: 'EUR', amount: BigInt(amount), memo: '' }
}

/** One healthy cluster of `nodes` replicas, clients submitting steadily for `virtualMs`. */
function simulate(nodes: number, virtualMs: number): SimRun {
  const rng = new Prng(SEED)
  const world = new World(rng, new Verifier(), { seed: SEED, nodes, faultModel: 'crash' })
  world.net = { baseMs: 0.3, jitterMs: 1, loss: 0, duplicate: 0 }

  // Every replica commits every height: count each height's entries once, at its first commit.
  let counted = 0
  let entries = 0
  world.observer = {
    ...world.observer,
    committed: (_node, effect) => {
      if (effect.block.header.height <= counted) return
      counted = effect.block.header.height
      for (const o of effect.outcomes) if (o.status === 'committed') entries++
    },
  }

  for (const node of world.nodes) world.at(0, (w) => w.start(node.index))
  let nonce = 0
  let submitted = 0
  const client = (w: World) => {
    const node = rng.int(0, w.nodes.length - 1)
    let body: EntryBody
    if (nonce % FUNDING_EVERY === 0) {
      body = transfer('@bank', rng.pick(USERS), rng.int(10_000, 50_000))
    } else {
      const from = rng.pick(USERS)
      body = transfer(from, rng.pick(USERS.filter((u) => u !== from)), rng.int(1, 1_000))
    }
    w.submit(node, body, nonce++)
    submitted++
    if (w.now + SUBMIT_EVERY_MS < virtualMs) w.at(w.now + SUBMIT_EVERY_MS, client)
  }
  world.at(SUBMIT_EVERY_MS, client)

  const before = process.cpuUsage()
  world.run(virtualMs)
  const cpu = process.cpuUsage(before)

  const heights = Math.max(0, ...world.nodes.map((n) => n.replica?.height ?? 0))
  return { heights, entries, submitted, cpuMs: (cpu.user + cpu.system) / 1000 }
}

interface Figure extends BenchResult {
  /** Its key in the JSON line; figures without one appear in the table only. */
  readonly key?: string
}

function benchConsensus(nodes: number): Figure[] {
  simulate(nodes, 2_000) // warm-up: compiles the replica's paths before anything is measured
  const runs = Array.from({ length: SIM_RUNS }, () => simulate(nodes, VIRTUAL_MS))
  const cpuMs = median(runs.map((r) => r.cpuMs))
  const { heights, entries, submitted } = runs[0]!
  for (const r of runs) {
    if (r.heights !== heights || r.entries !== entries) {
      throw new Error(`the simulation of ${nodes} nodes is not deterministic`)
    }
  }
  const label = `consensus, ${nodes} nodes, healthy LAN`
  const perCpuSecond = (n: number) => Math.round((n * 1000) / cpuMs)
  const virtualS = VIRTUAL_MS / 1000
  return [
    {
      name: `${label}: heights committed`,
      value: perCpuSecond(heights),
      unit: 'heights/CPU s',
      key: `sim${nodes}HeightsPerCpuSec`,
    },
    {
      name: `${label}: entries committed`,
      value: perCpuSecond(entries),
      unit: 'entries/CPU s',
      key: `sim${nodes}EntriesPerCpuSec`,
    },
    {
      name: `${label}: heights in ${virtualS} s virtual`,
      value: heights,
      unit: 'heights',
      key: `sim${nodes}Heights`,
    },
    {
      name: `${label}: entries committed in ${virtualS} s virtual`,
      value: entries,
      unit: `of ${submitted} submitted`,
      key: `sim${nodes}Entries`,
    },
  ]
}

/** The JSON key of each of benchLedger's figures, by name: a renamed figure fails loudly. */
const LEDGER_KEYS: ReadonlyMap<string, string> = new Map([
  ['ed25519 verify (node:crypto)', 'ed25519VerifiesPerSecNode'],
  ['ed25519 verify (@noble/ed25519)', 'ed25519VerifiesPerSecNoble'],
  [
    'blocks of 1,000 transfers, verifyBlock + apply, signatures not seen before',
    'blocksPerSecVerifyApplyCold',
  ],
  [
    'blocks of 1,000 transfers, verifyBlock + apply, signatures already verified',
    'blocksPerSecVerifyApplyWarm',
  ],
  ['blocks of 1,000 transfers, apply alone', 'blocksPerSecApply'],
])

function ledgerFigures(results: readonly BenchResult[]): Figure[] {
  for (const name of LEDGER_KEYS.keys()) {
    if (!results.some((r) => r.name === name)) {
      throw new Error(`bench:core: benchLedger() gave no figure named "${name}"`)
    }
  }
  return results.map((r) => {
    const key = LEDGER_KEYS.get(r.name)
    return key === undefined ? r : { ...r, key }
  })
}

function table(figures: readonly Figure[]): string {
  const rows = [['name', 'value', 'unit'], ...figures.map((f) => [f.name, `${f.value}`, f.unit])]
  const width = [0, 1, 2].map((c) => Math.max(...rows.map((row) => row[c]!.length)))
  const line = (row: readonly string[]) =>
    `${row[0]!.padEnd(width[0]!)}  ${row[1]!.padStart(width[1]!)}  ${row[2]!}`
  const rule = width.map((w) => '-'.repeat(w))
  return [line(rows[0]!), line(rule), ...rows.slice(1).map(line)].join('\n')
}

const figures = [...ledgerFigures(await benchLedger()), ...[3, 7].flatMap(benchConsensus)]
const json: Record<string, number> = {}
for (const f of figures) if (f.key !== undefined) json[f.key] = f.value
console.log(table(figures))
console.log(JSON.stringify({ bench: 'core', ...json }))
