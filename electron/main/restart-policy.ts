/**
 * When main starts the core again after it stopped on its own, and when it stops trying.
 *
 * A crash is restarted after a back-off that doubles (1, 2, 4, 8 s…), so a core that dies at
 * once does not spin the machine; after `maxCrashes` crashes within `windowMs` it is not started
 * again, and the window says why: something is wrong that restarting does not cure. Crashes older
 * than the window are forgotten, so a core that ran for a while starts from the shortest delay.
 * A core that said it cannot go on (`fatal`, exit CORE_EXIT_FATAL) is not restarted at all.
 *
 * Pure: main passes the clock in.
 */
import { CORE_EXIT_FATAL } from '../../core/api/desktop-protocol.ts'

export interface RestartPolicyOptions {
  /** Delays before each restart in a run of crashes; the last repeats. */
  readonly delaysMs?: readonly number[]
  /** Crashes within `windowMs` after which the core is left stopped. */
  readonly maxCrashes?: number
  readonly windowMs?: number
}

export const RESTART_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000, 8_000, 16_000]
export const MAX_CRASHES = 5
export const CRASH_WINDOW_MS = 2 * 60_000

/** How the core's process ended. */
export interface CoreExit {
  /** The exit code; null when a signal ended it. */
  readonly code: number | null
  /** What it said last (its `fatal`, or the end of its stderr), if anything. */
  readonly lastWords: string | null
}

export type RestartVerdict =
  | { readonly action: 'restart'; readonly delayMs: number; readonly crashes: number }
  | { readonly action: 'give-up'; readonly reason: string }

export class RestartPolicy {
  readonly #delays: readonly number[]
  readonly #max: number
  readonly #window: number
  #crashes: number[] = []

  constructor(opts: RestartPolicyOptions = {}) {
    this.#delays = opts.delaysMs ?? RESTART_DELAYS_MS
    this.#max = opts.maxCrashes ?? MAX_CRASHES
    this.#window = opts.windowMs ?? CRASH_WINDOW_MS
    // NaN passes `< 1` and `<= 0` checks: a NaN window would forget every crash at once, and a
    // NaN limit would never be reached, so the core would be restarted for ever.
    if (
      this.#delays.length === 0 ||
      !this.#delays.every((d) => Number.isFinite(d) && d >= 0) ||
      !Number.isInteger(this.#max) ||
      this.#max < 1 ||
      !Number.isFinite(this.#window) ||
      this.#window <= 0
    ) {
      throw new RangeError('a restart policy needs delays, a crash limit and a window')
    }
  }

  /** The core ended at `now` without being asked to: start it again, or not. */
  exited(now: number, exit: CoreExit): RestartVerdict {
    const said = exit.lastWords === null ? '' : `: ${exit.lastWords}`
    if (exit.code === CORE_EXIT_FATAL) {
      return { action: 'give-up', reason: `Tally's core cannot run${said}` }
    }
    this.#crashes = this.#crashes.filter((t) => now - t < this.#window)
    this.#crashes.push(now)
    const n = this.#crashes.length
    if (n >= this.#max) {
      const minutes = Math.round(this.#window / 60_000)
      return {
        action: 'give-up',
        reason: `Tally's core stopped unexpectedly ${n} times within ${minutes} minute${minutes === 1 ? '' : 's'}, so it is no longer started again (last: ${exitWords(exit)}${said})`,
      }
    }
    return {
      action: 'restart',
      delayMs: this.#delays[Math.min(n, this.#delays.length) - 1]!,
      crashes: n,
    }
  }

  /** The user asked for a fresh start: past crashes no longer count. */
  reset(): void {
    this.#crashes = []
  }
}

/** "exit code 1" or "killed by a signal", for messages. */
export function exitWords(exit: CoreExit): string {
  return exit.code === null ? 'ended by a signal' : `exit code ${exit.code}`
}
