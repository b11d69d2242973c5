/**
 * `npm run sim -- --seeds N [--from S] [--nodes K] [--fault-model crash|byzantine] [--trace]`
 *
 * Runs N seeded schedules over the available cores and ends with `sim: N schedules, V violations`.
 * Each violation is printed with its seed and the command that replays it with a trace.
 */
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { runSeeds } from './pool.ts'
import { runSchedule } from './schedule.ts'

const HELP = `usage: npm run sim -- [--seeds N] [--from S] [--nodes K] [--fault-model crash|byzantine] [--trace] [--workers W]

Runs N seeded schedules (default 100) starting at seed S (default 1) of a simulated cluster under
crashes, partitions, loss, duplication and reordering (and equivocating nodes in byzantine mode),
then checks agreement, validity, no loss, no duplicates, same state, no double signing, liveness
and, on every tenth seed in crash mode, the founding scenario. Without --nodes the seed picks 3–5
nodes (crash) or 4–5 (byzantine). --trace prints every step of each schedule; use it with
--seeds 1 to replay a failure. Exits 1 on any violation.`

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '100' },
      from: { type: 'string', default: '1' },
      nodes: { type: 'string' },
      'fault-model': { type: 'string', default: 'crash' },
      trace: { type: 'boolean', default: false },
      workers: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(HELP)
    return 0
  }
  const seeds = positiveInt(values.seeds, '--seeds')
  const from = positiveInt(values.from, '--from', 0)
  const nodes = values.nodes === undefined ? undefined : positiveInt(values.nodes, '--nodes', 1)
  const model = values['fault-model']
  if (model !== 'crash' && model !== 'byzantine') {
    throw new UsageError(`--fault-model must be crash or byzantine, not ${model}`)
  }
  if (values.trace) {
    let violations = 0
    for (let seed = from; seed < from + seeds; seed++) {
      const r = runSchedule({ seed, faultModel: model, nodes, trace: true })
      for (const line of r.trace) console.log(line)
      for (const v of r.violations) console.log(`VIOLATION seed ${seed}: ${v}`)
      violations += r.violations.length
    }
    console.log(`sim: ${seeds} schedules, ${violations} violations`)
    return violations === 0 ? 0 : 1
  }
  const workers =
    values.workers === undefined
      ? availableParallelism()
      : positiveInt(values.workers, '--workers', 1)
  const started = performance.now()
  const s = await runSeeds({ from, count: seeds, faultModel: model, nodes, workers })
  for (const f of s.failures) {
    for (const v of f.violations) console.log(`seed ${f.seed}: ${v}`)
    const nodeFlag = nodes === undefined ? '' : ` --nodes ${nodes}`
    console.log(
      `  replay: npm run sim -- --seeds 1 --from ${f.seed}${nodeFlag} --fault-model ${model} --trace`,
    )
  }
  const secs = (performance.now() - started) / 1000
  console.log(
    `heights committed: ${s.heights}, entries settled: ${s.settled}, worst recovery after heal: ${(s.worstRecoveryMs / 1000).toFixed(1)} s, ${s.events} events, ${secs.toFixed(1)} s`,
  )
  console.log(`sim: ${s.schedules} schedules, ${s.violations} violations`)
  return s.violations === 0 ? 0 : 1
}

class UsageError extends Error {
  override readonly name = 'UsageError'
}

function positiveInt(text: string, flag: string, min = 1): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${flag} must be an integer ≥ ${min}, not ${text}`)
  return n
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    console.error(e instanceof UsageError ? `sim: ${e.message}` : e)
    process.exitCode = 2
  },
)
