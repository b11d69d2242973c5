/**
 * `npm run fuzz -- [--cases N] [--seed S] [--only NAME] [--reasons] [--replay SEED:PATH]`
 *
 * Feeds random and mutated inputs to every decoder, at least 100,000 cases by default, and ends
 * with `fuzz: N cases, C crashes`; exits 1 on any crash.
 */
import { parseArgs } from 'node:util'
import { replay, runTarget, type TargetReport } from './engine.ts'
import { crashLines, targetLines } from './report.ts'
import { budget, TARGETS } from './targets.ts'

const HELP = `usage: npm run fuzz -- [--cases N] [--seed S] [--only NAME] [--reasons] [--replay SEED:PATH]

Feeds N cases (default 100,000) of random bytes, random JSON and mutated valid encodings to every
decoder (gossip messages, sync requests and answers, direct frames, entries, blocks, commits, the
genesis, votes, proposals, write-ahead records, vote-log slots, join requests and answers, API
bodies and queries), split by weight. A crash is an exception other than the decoder's own rejection, an accepted input that
re-encodes to other bytes or breaks a bound, or buffers allocated beyond what the input holds.
--seed repeats a run (the default is printed); --only runs the targets whose name contains NAME;
--reasons lists every class of rejection; --replay runs one case a crash report printed.`

function main(): number {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '100000' },
      seed: { type: 'string' },
      only: { type: 'string' },
      reasons: { type: 'boolean', default: false },
      replay: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(HELP)
    return 0
  }
  const targets = TARGETS.filter((t) => values.only === undefined || t.name.includes(values.only))
  if (targets.length === 0) throw new UsageError(`no target's name contains "${values.only}"`)
  if (values.replay !== undefined) return replayOne(values.replay, targets)
  const cases = integer(values.cases, '--cases', 1)
  const seed = values.seed === undefined ? Date.now() % 2 ** 31 : integer(values.seed, '--seed', 0)
  console.log(`fuzzing ${targets.length} decoders, seed ${seed}`)
  const started = performance.now()
  const reports: TargetReport[] = []
  budget(targets, cases).forEach((share, i) => {
    const t = targets[i]!
    const r = runTarget(t, share, seed + i)
    reports.push(r)
    for (const line of targetLines(r, values.reasons)) console.log(line)
  })
  let crashes = 0
  for (const r of reports) {
    for (const c of r.crashes) {
      crashes++
      for (const line of crashLines(r.name, c)) console.log(line)
    }
  }
  const total = reports.reduce((sum, r) => sum + r.cases, 0)
  console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`)
  console.log(`fuzz: ${total} cases, ${crashes} crashes`)
  return crashes === 0 ? 0 : 1
}

function replayOne(spec: string, targets: typeof TARGETS): number {
  const m = /^(-?\d+):([\d:]+)$/.exec(spec)
  if (m === null)
    throw new UsageError(`--replay takes SEED:PATH as a crash report prints it, not ${spec}`)
  if (targets.length !== 1) throw new UsageError('--replay needs --only naming exactly one target')
  const error = replay(targets[0]!, Number(m[1]), m[2]!)
  console.log(error === null ? 'the case passes now' : `the case still crashes: ${error}`)
  return error === null ? 0 : 1
}

class UsageError extends Error {
  override readonly name = 'UsageError'
}

function integer(text: string, flag: string, min: number): number {
  const v = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(v) || v < min) {
    throw new UsageError(`${flag} must be an integer of at least ${min}, not ${text}`)
  }
  return v
}

try {
  process.exitCode = main()
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`fuzz: ${error.message}\n\n${HELP}`)
  process.exitCode = 2
}
