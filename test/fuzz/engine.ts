/**
 * Runs fuzz targets under fast-check and counts what happened to every case: accepted, rejected
 * (by reason class) or crashed. A crash is any exception other than the decoder's own rejection,
 * including a `Broken` property of an accepted input; fast-check shrinks it and reports the seed
 * and path that replay it, and the run goes on with a fresh seed so that one bug does not hide
 * the rest of the budget.
 */
import fc from 'fast-check'

/** What a decoder did with one input, when it neither crashed nor broke a property. */
export type Verdict =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly reason: string }

export const ACCEPTED: Verdict = { accepted: true }

export function rejected(reason: string): Verdict {
  return { accepted: false, reason }
}

/** A property of accepted input that does not hold (re-encoding differs, a bound exceeded). */
export class Broken extends Error {
  override readonly name = 'Broken'
}

/** One drawn input, ready to run; its string form is what a crash report shows. */
export interface FuzzCase {
  run(): Verdict
}

export interface FuzzTarget {
  readonly name: string
  /** Its share of the cases of a run, relative to the other targets. */
  readonly weight: number
  readonly cases: fc.Arbitrary<FuzzCase>
}

export interface TargetSpec<I> {
  readonly name: string
  readonly weight: number
  readonly inputs: fc.Arbitrary<I>
  /**
   * Runs the decoder on one input and returns its verdict. It catches only the decoder's
   * documented rejection; anything else it lets through is a crash.
   */
  readonly run: (input: I) => Verdict
  /** How a crash report shows the input; fast-check's own rendering by default. */
  readonly show?: (input: I) => string
}

export function target<I>(spec: TargetSpec<I>): FuzzTarget {
  const show = spec.show ?? ((input: I) => fc.stringify(input))
  return {
    name: spec.name,
    weight: spec.weight,
    cases: spec.inputs.map((input) => ({
      run: () => spec.run(input),
      [fc.toStringMethod]: () => show(input),
    })),
  }
}

export interface Crash {
  readonly seed: number
  readonly path: string
  readonly error: string
  readonly input: string
}

export interface TargetReport {
  readonly name: string
  cases: number
  accepted: number
  rejected: number
  /** Rejections by reason class (see `reasonClass`). */
  readonly reasons: Map<string, number>
  readonly crashes: Crash[]
  ms: number
}

/** After this many crashes a target stops: the rest of its budget would find the same bugs. */
const MAX_CRASHES_PER_TARGET = 5

export function runTarget(t: FuzzTarget, numRuns: number, seed: number): TargetReport {
  const report: TargetReport = {
    name: t.name,
    cases: 0,
    accepted: 0,
    rejected: 0,
    reasons: new Map(),
    crashes: [],
    ms: 0,
  }
  const started = performance.now()
  let nextSeed = seed
  while (report.cases < numRuns && report.crashes.length < MAX_CRASHES_PER_TARGET) {
    // Every call after the first failure is fast-check shrinking it: not a case of the run.
    let counting = true
    const property = fc.property(t.cases, (c) => {
      let verdict: Verdict
      try {
        verdict = c.run()
      } catch (error) {
        if (counting) report.cases++
        counting = false
        throw error
      }
      if (counting) {
        report.cases++
        count(report, verdict)
      }
    })
    const details = fc.check(property, { numRuns: numRuns - report.cases, seed: nextSeed })
    if (details.failed && details.counterexamplePath !== null) {
      report.crashes.push({
        seed: details.seed,
        path: details.counterexamplePath,
        error: describeError(details.errorInstance),
        input: details.counterexample === null ? '?' : fc.stringify(details.counterexample[0]),
      })
    } else if (details.failed) {
      // Too many skipped draws (a filter that rarely passes): a fault of the target, not a case.
      throw new Error(
        `fuzz target ${t.name} stopped after ${details.numRuns} cases: ${fc.defaultReportMessage(details)}`,
      )
    }
    nextSeed = (details.seed + 0x9e37_79b9) | 0
  }
  report.ms = performance.now() - started
  return report
}

/** Replays one recorded case (a seed and path from a crash report): the error it throws, or null. */
export function replay(t: FuzzTarget, seed: number, path: string): string | null {
  const property = fc.property(t.cases, (c) => {
    c.run()
  })
  const details = fc.check(property, { seed, path, numRuns: 1, endOnFailure: true })
  return details.failed ? describeError(details.errorInstance) : null
}

function count(report: TargetReport, verdict: Verdict): void {
  if (verdict.accepted) {
    report.accepted++
    return
  }
  report.rejected++
  const key = reasonClass(verdict.reason)
  report.reasons.set(key, (report.reasons.get(key) ?? 0) + 1)
}

/**
 * A rejection's reason without its particulars (numbers, quoted text), so that one check that
 * refused inputs of many sizes is counted as one class.
 */
function reasonClass(reason: string): string {
  return reason
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .replace(/\b(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/g, '<hex>')
    .replace(/\d+/g, 'N')
    .slice(0, 100)
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}
