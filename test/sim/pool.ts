/**
 * Runs seeds on worker threads, one schedule at a time per worker, and sums what they found.
 * Each worker keeps its own signature memo across its schedules.
 */
import { Worker } from 'node:worker_threads'
import type { FaultModel } from '../../core/ledger/types.ts'
import type { ScheduleResult } from './schedule.ts'

export interface SimSummary {
  schedules: number
  violations: number
  failures: { seed: number; violations: readonly string[] }[]
  heights: number
  settled: number
  events: number
  worstRecoveryMs: number
}

export interface SeedRange {
  readonly from: number
  readonly count: number
  readonly faultModel: FaultModel
  readonly nodes: number | undefined
  readonly workers: number
}

/** What a worker sends back: the result without its (empty) trace. */
export type WorkerReply =
  | Omit<ScheduleResult, 'trace'>
  | { readonly error: string; readonly seed: number }

const CHUNK = 8

export function runSeeds(range: SeedRange): Promise<SimSummary> {
  const summary: SimSummary = {
    schedules: 0,
    violations: 0,
    failures: [],
    heights: 0,
    settled: 0,
    events: 0,
    worstRecoveryMs: 0,
  }
  let next = range.from
  const end = range.from + range.count
  return new Promise((resolve, reject) => {
    let running = 0
    const all: Worker[] = []
    const fail = (e: Error) => {
      for (const w of all) void w.terminate()
      reject(e)
    }
    const workers = Math.max(1, Math.min(range.workers, Math.ceil(range.count / CHUNK)))
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(new URL('./pool-worker.js', import.meta.url), {
        workerData: { faultModel: range.faultModel, nodes: range.nodes },
      })
      all.push(worker)
      running++
      const feed = () => {
        if (next >= end) {
          void worker.terminate()
          return
        }
        const count = Math.min(CHUNK, end - next)
        worker.postMessage({ from: next, count })
        next += count
      }
      worker.on('message', (replies: WorkerReply[]) => {
        for (const r of replies) {
          if ('error' in r) {
            fail(new Error(`seed ${r.seed} threw: ${r.error}`))
            return
          }
          summary.schedules++
          summary.heights += r.heights
          summary.settled += r.settled
          summary.events += r.events
          if (r.recoveryMs !== null)
            summary.worstRecoveryMs = Math.max(summary.worstRecoveryMs, r.recoveryMs)
          if (r.violations.length > 0) {
            summary.violations += r.violations.length
            summary.failures.push({ seed: r.seed, violations: r.violations })
          }
        }
        feed()
      })
      worker.on('error', fail)
      worker.on('exit', () => {
        running--
        if (running === 0) {
          summary.failures.sort((a, b) => a.seed - b.seed)
          resolve(summary)
        }
      })
      feed()
    }
  })
}
