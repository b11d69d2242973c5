/**
 * The points of the block chart: one per block, kept for the last minutes only so a window left
 * open all week holds a bounded array, not every block since Monday.
 */
import type { RoundRecord } from '../../../core/api/types.ts'

export interface BlockPoint {
  readonly height: number
  /** ms since the epoch. */
  readonly time: number
  readonly entries: number
}

/** Ten minutes at about a block a second. */
export const MAX_POINTS = 600
export const MAX_AGE_MS = 10 * 60_000

/**
 * Adds `points` to `series`, keyed by height, sorted by height, trimmed to the newest
 * `MAX_POINTS` within `MAX_AGE_MS` of the newest. With `keep: 'old'` a height already in the
 * series keeps its point: the seed (local commit times, read again every second) must not
 * overwrite what block events brought (the proposer's block time).
 */
export function addPoints(
  series: readonly BlockPoint[],
  points: readonly BlockPoint[],
  keep: 'new' | 'old' = 'new',
): readonly BlockPoint[] {
  const byHeight = new Map<number, BlockPoint>()
  for (const p of series) byHeight.set(p.height, p)
  let changed = false
  for (const p of points) {
    if (keep === 'new' || !byHeight.has(p.height)) {
      byHeight.set(p.height, p)
      changed = true
    }
  }
  // The same array when nothing is new, so the chart is not redrawn for nothing.
  if (!changed) return series
  const sorted = [...byHeight.values()].sort((a, b) => a.height - b.height)
  const newest = sorted.reduce((t, p) => Math.max(t, p.time), 0)
  const kept = sorted.filter((p) => newest - p.time <= MAX_AGE_MS).slice(-MAX_POINTS)
  const same = kept.length === series.length && kept.every((p, i) => p === series[i])
  return same ? series : kept
}

/** The seed from `RoundsView.recent` (newest first): its heights, local commit times and sizes. */
export function pointsFromRecent(recent: readonly RoundRecord[]): BlockPoint[] {
  return recent.map((r) => ({ height: r.height, time: r.time, entries: r.entries }))
}

export interface ChartRows {
  /** Block times, ms since the epoch. */
  readonly x: readonly number[]
  /** Seconds since the previous block; null where the previous block is not in the series. */
  readonly interval: readonly (number | null)[]
  readonly entries: readonly number[]
}

/**
 * An interval is drawn only between consecutive heights: after a gap in the series (the screen was
 * closed, the machine was offline) the time between two points is not one block's interval.
 */
export function chartRows(series: readonly BlockPoint[]): ChartRows {
  const x: number[] = []
  const interval: (number | null)[] = []
  const entries: number[] = []
  series.forEach((p, i) => {
    const prev = i > 0 ? series[i - 1] : undefined
    x.push(p.time)
    interval.push(
      prev !== undefined && prev.height === p.height - 1
        ? Math.max(0, p.time - prev.time) / 1000
        : null,
    )
    entries.push(p.entries)
  })
  return { x, interval, entries }
}

export interface SeriesSummary {
  readonly blocks: number
  readonly entries: number
  /** Seconds, or null with fewer than two consecutive blocks. */
  readonly lastInterval: number | null
  readonly meanInterval: number | null
  readonly lastEntries: number | null
  /** The figures in one sentence, for the chart's accessible name. */
  readonly text: string
}

export function seriesSummary(series: readonly BlockPoint[]): SeriesSummary {
  const rows = chartRows(series)
  const intervals = rows.interval.filter((v): v is number => v !== null)
  const entries = rows.entries.reduce((a, b) => a + b, 0)
  const lastInterval = rows.interval.at(-1) ?? null
  const meanInterval =
    intervals.length === 0 ? null : intervals.reduce((a, b) => a + b, 0) / intervals.length
  const lastEntries = rows.entries.at(-1) ?? null
  const blocks = series.length
  const text =
    blocks === 0
      ? 'No blocks yet in the last 10 minutes.'
      : [
          `${blocks} ${blocks === 1 ? 'block' : 'blocks'} with ${entries} ${entries === 1 ? 'entry' : 'entries'} in the last 10 minutes.`,
          meanInterval === null ? '' : `Average interval ${seconds(meanInterval)}.`,
          lastInterval === null ? '' : `Last interval ${seconds(lastInterval)},`,
          lastEntries === null
            ? ''
            : `last block ${lastEntries} ${lastEntries === 1 ? 'entry' : 'entries'}.`,
        ]
          .filter((s) => s !== '')
          .join(' ')
  return { blocks, entries, lastInterval, meanInterval, lastEntries, text }
}

/** "1.04 s", "12.3 s", "95 s". */
export function seconds(s: number): string {
  if (s < 10) return `${s.toFixed(2)} s`
  if (s < 100) return `${s.toFixed(1)} s`
  return `${Math.round(s)} s`
}

/**
 * `#rrggbb` with an alpha, for canvas fills: the theme's colours are opaque hex, and bars drawn
 * opaque under the interval line would hide it. Anything else is returned as it is.
 */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color.trim())
  if (m === null) return color
  const [r, g, b] = [m[1], m[2], m[3]].map((h) => Number.parseInt(h ?? '0', 16))
  return `rgba(${r}, ${g}, ${b}, ${alpha})`
}

/**
 * Bar width in pixels for `points` bars over `widthPx`: about 60% of the room one block has at
 * the mean rate, between 1 and 8 pixels, so a full window does not turn into a grey wall.
 */
export function barThickness(widthPx: number, points: number): number {
  if (points <= 1) return 8
  return Math.max(1, Math.min(8, Math.floor((widthPx / (points - 1)) * 0.6)))
}

/** Tick steps on round clock times, the smallest first. */
const TICK_STEPS = [10_000, 15_000, 30_000, 60_000, 120_000]
/** The chart never shows less than this much time, so a few blocks do not fill it edge to edge. */
const MIN_SPAN_MS = 60_000

/**
 * The time the chart shows: up to now, back to the first block it holds (with a little room) or
 * MAX_AGE_MS, whichever is nearer, so a node started a minute ago does not squeeze its blocks
 * into the last sixth of a ten-minute axis; and a tick step that gives at most six ticks.
 */
export function chartWindow(
  points: readonly BlockPoint[],
  now: number,
): { min: number; max: number; step: number } {
  const first = points[0]?.time ?? now
  const span = Math.min(MAX_AGE_MS, Math.max(MIN_SPAN_MS, (now - first) * 1.1))
  const step = TICK_STEPS.find((s) => span / s <= 6) ?? TICK_STEPS[TICK_STEPS.length - 1]!
  return { min: now - span, max: now, step }
}

/** Multiples of `step` within [min, max]: tick marks on round clock times (…:02:00, …:04:00). */
export function alignedTicks(min: number, max: number, step: number): number[] {
  const out: number[] = []
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) out.push(t)
  return out
}
