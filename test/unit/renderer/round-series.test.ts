import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { RoundRecord } from '../../../core/api/types.ts'
import {
  addPoints,
  alignedTicks,
  type BlockPoint,
  barThickness,
  chartRows,
  chartWindow,
  MAX_AGE_MS,
  MAX_POINTS,
  pointsFromRecent,
  seconds,
  seriesSummary,
  withAlpha,
} from '../../../renderer/src/state/round-series.ts'

const T = 1_700_000_000_000
const at = (height: number, time: number, entries = 0): BlockPoint => ({ height, time, entries })

test('points are kept in height order, one per height, the later one winning', () => {
  const s = addPoints([at(2, T + 2000), at(1, T + 1000)], [at(2, T + 2100, 5), at(3, T + 3000)])
  assert.deepEqual(s, [at(1, T + 1000), at(2, T + 2100, 5), at(3, T + 3000)])
})

test("the seed does not overwrite a block event's point for the same height", () => {
  const events = [at(5, T + 5000, 2)]
  const s = addPoints(events, [at(5, T + 5040, 2), at(4, T + 4040, 1)], 'old')
  assert.deepEqual(s, [at(4, T + 4040, 1), at(5, T + 5000, 2)])
})

test('adding nothing new gives back the same array, so the chart is not redrawn', () => {
  const s = addPoints([], [at(1, T), at(2, T + 1000)])
  assert.equal(addPoints(s, [at(2, T + 1234)], 'old'), s)
  assert.equal(addPoints(s, []), s)
})

test('the series holds at most ten minutes and at most 600 points', () => {
  const many = Array.from({ length: 900 }, (_, i) => at(i + 1, T + i * 100))
  const s = addPoints([], many)
  assert.equal(s.length, MAX_POINTS)
  assert.equal(s.at(-1)?.height, 900)
  const old = addPoints([at(1, T), at(2, T + 1000)], [at(3, T + MAX_AGE_MS + 500)])
  assert.deepEqual(
    old.map((p) => p.height),
    [2, 3],
  )
})

test('the seed reads each recent height with its time and entries', () => {
  const r: RoundRecord = {
    height: 7,
    round: 0,
    proposer: 'p',
    entries: 4,
    durationMs: 900,
    outcome: 'committed',
    time: T,
    failed: [],
  }
  assert.deepEqual(pointsFromRecent([r]), [at(7, T, 4)])
})

test('an interval is drawn only between consecutive heights, in seconds', () => {
  const rows = chartRows([at(1, T, 1), at(2, T + 1500, 2), at(5, T + 9000, 3)])
  assert.deepEqual(rows.x, [T, T + 1500, T + 9000])
  assert.deepEqual(rows.interval, [null, 1.5, null])
  assert.deepEqual(rows.entries, [1, 2, 3])
})

test('the summary states the figures the chart shows, in words', () => {
  const s = seriesSummary([at(1, T, 1), at(2, T + 1000, 2), at(3, T + 3000, 0)])
  assert.equal(s.blocks, 3)
  assert.equal(s.entries, 3)
  assert.equal(s.meanInterval, 1.5)
  assert.equal(s.lastInterval, 2)
  assert.equal(
    s.text,
    '3 blocks with 3 entries in the last 10 minutes. Average interval 1.50 s. Last interval 2.00 s, last block 0 entries.',
  )
  assert.equal(seriesSummary([]).text, 'No blocks yet in the last 10 minutes.')
})

test('seconds keep about three significant digits', () => {
  assert.equal(seconds(1.04), '1.04 s')
  assert.equal(seconds(12.34), '12.3 s')
  assert.equal(seconds(125.4), '125 s')
})

test('theme colours get an alpha for the bars; other colour forms pass through', () => {
  assert.equal(withAlpha('#5f6773', 0.5), 'rgba(95, 103, 115, 0.5)')
  assert.equal(withAlpha(' #A3ACB9 ', 0.3), 'rgba(163, 172, 185, 0.3)')
  assert.equal(withAlpha('rebeccapurple', 0.5), 'rebeccapurple')
})

test('bars share the width between the blocks shown, from 1 to 8 pixels', () => {
  assert.equal(barThickness(600, 601), 1)
  assert.equal(barThickness(600, 61), 6)
  assert.equal(barThickness(600, 3), 8)
  assert.equal(barThickness(600, 1), 8)
})

test('time ticks fall on round multiples of the step inside the window', () => {
  assert.deepEqual(alignedTicks(130_000, 500_000, 120_000), [240_000, 360_000, 480_000])
  assert.deepEqual(alignedTicks(240_000, 240_000, 120_000), [240_000])
  assert.deepEqual(alignedTicks(241_000, 359_000, 120_000), [])
})

test('a young chart shows the time since its first block, with room, and at least a minute', () => {
  const now = 1_000_000_000
  const at = (ago: number) => ({ height: 1, time: now - ago, entries: 0 })
  assert.deepEqual(chartWindow([at(100_000)], now), { min: now - 110_000, max: now, step: 30_000 })
  assert.deepEqual(chartWindow([at(5_000)], now), { min: now - 60_000, max: now, step: 10_000 })
  assert.deepEqual(chartWindow([], now), { min: now - 60_000, max: now, step: 10_000 })
})

test('an old chart shows ten minutes with a tick every two', () => {
  const now = 1_000_000_000
  const w = chartWindow([{ height: 1, time: now - 3_600_000, entries: 0 }], now)
  assert.deepEqual(w, { min: now - MAX_AGE_MS, max: now, step: 120_000 })
})
