/**
 * The simulator as part of `npm test`: a thousand seeded schedules of each fault model, the
 * founding scenario, and determinism of replay.
 */
import assert from 'node:assert/strict'
import { availableParallelism } from 'node:os'
import { test } from 'node:test'
import { runSeeds, type SimSummary } from './pool.ts'
import { runSchedule } from './schedule.ts'

const SEEDS = 1_000

function explain(s: SimSummary): string {
  return s.failures
    .slice(0, 5)
    .map((f) => `seed ${f.seed}: ${f.violations.join('; ')}`)
    .join('\n')
}

const MODES = [
  ['crash', '3–5 nodes, crashes, partitions, loss'],
  ['byzantine', '4–5 nodes, f equivocators, crashes, partitions, loss'],
] as const

for (const [faultModel, what] of MODES) {
  test(`${SEEDS} ${faultModel}-mode schedules (${what}) keep every invariant`, async () => {
    const s = await runSeeds({
      from: 1,
      count: SEEDS,
      faultModel,
      nodes: undefined,
      workers: availableParallelism(),
    })
    assert.equal(s.schedules, SEEDS)
    assert.equal(s.violations, 0, explain(s))
    assert.ok(s.heights > SEEDS * 10, `only ${s.heights} heights committed over ${SEEDS} schedules`)
  })
}

test('the founding scenario: of 3 nodes one dies for good and the other two keep committing', () => {
  for (const seed of [10, 20, 30, 40, 50]) {
    const r = runSchedule({ seed, faultModel: 'crash', nodes: 3 })
    assert.equal(r.scenario, 'founding')
    assert.deepEqual(r.violations, [], `seed ${seed}`)
    assert.ok(r.heights >= 10, `seed ${seed}: only ${r.heights} heights`)
  }
})

test('a schedule replays exactly from its seed', () => {
  const a = runSchedule({ seed: 7, faultModel: 'crash', trace: true })
  const b = runSchedule({ seed: 7, faultModel: 'crash', trace: true })
  assert.ok(a.trace.length > 100)
  assert.deepEqual(a.trace, b.trace)
  const c = runSchedule({ seed: 8, faultModel: 'crash', trace: true })
  assert.notDeepEqual(a.trace, c.trace)
})
