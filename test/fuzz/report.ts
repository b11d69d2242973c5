/** The fuzz run as text: a line per decoder, its commonest rejections, and every crash. */
import type { Crash, TargetReport } from './engine.ts'

const n = (x: number) => x.toLocaleString('en-US')

export function targetLines(r: TargetReport, allReasons: boolean): string[] {
  const lines = [
    `${r.name.padEnd(26)} ${n(r.cases).padStart(7)} cases ${n(r.accepted).padStart(7)} accepted ${n(r.rejected).padStart(7)} rejected ${String(r.crashes.length).padStart(2)} crashes ${(r.ms / 1000).toFixed(1).padStart(6)} s`,
  ]
  const reasons = [...r.reasons].sort((a, b) => b[1] - a[1])
  const shown = allReasons ? reasons : reasons.slice(0, 4)
  for (const [reason, count] of shown) lines.push(`    ${n(count).padStart(7)}  ${reason}`)
  if (shown.length < reasons.length) {
    const rest = reasons.slice(shown.length).reduce((sum, [, c]) => sum + c, 0)
    lines.push(
      `    ${n(rest).padStart(7)}  in ${reasons.length - shown.length} more classes of rejection (--reasons lists them)`,
    )
  }
  return lines
}

export function crashLines(target: string, c: Crash): string[] {
  return [
    `CRASH in ${target}: ${c.error}`,
    `  input: ${c.input}`,
    `  replay: npm run fuzz -- --only '${target}' --replay ${c.seed}:${c.path}`,
  ]
}
