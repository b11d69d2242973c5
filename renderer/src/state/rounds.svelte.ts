/**
 * The consensus view: the height being decided, its votes, recent rounds, and the blocks of the
 * last minutes for the chart. Votes change several times a second and no event carries them, so
 * the view is asked again after each round or block event (throttled) and every second, but only
 * while someone looks at it: `watch()` is called by the Consensus screen.
 */
import type { BlockSummary, RoundsView } from '../../../core/api/types.ts'
import type { ApiClient } from '../api/client.ts'
import { addPoints, type BlockPoint, pointsFromRecent } from './round-series.ts'
import { applyRoundEvent, compareRound, type RoundEvent } from './round-view.ts'

const POLL_MS = 1_000
/** Events come in bursts (step after step within milliseconds): one request answers them all. */
const THROTTLE_MS = 250

export class RoundsState {
  readonly #api: ApiClient
  view = $state.raw<RoundsView | null>(null)
  /** The last error in words; null once an answer came. */
  error = $state<string | null>(null)
  /** One point per block of the last minutes, oldest first, bounded. */
  series = $state.raw<readonly BlockPoint[]>([])

  #watchers = 0
  #poll: ReturnType<typeof setInterval> | null = null
  #pending: ReturnType<typeof setTimeout> | null = null
  #inFlight = false
  #again = false
  /** The latest round event: an answer that left before it must not move the screen back. */
  #live: RoundEvent | null = null

  constructor(api: ApiClient) {
    this.#api = api
  }

  async refresh(): Promise<void> {
    if (this.#inFlight) {
      this.#again = true
      return
    }
    this.#inFlight = true
    try {
      const r = await this.#api.rounds()
      if (!r.ok) {
        this.error = r.error
        return
      }
      this.error = null
      const v = r.value
      if (this.#live !== null && compareRound(v, this.#live) < 0) {
        // Asked before the round event that is already shown: its answer is older still.
        this.#again = true
      } else {
        this.view = v
      }
      this.series = addPoints(this.series, pointsFromRecent(v.recent), 'old')
    } finally {
      this.#inFlight = false
      if (this.#again) {
        this.#again = false
        this.#schedule()
      }
    }
  }

  /**
   * After a reconnect: the round last heard of may be from before the node restarted (its round
   * starts again at 0), so it no longer says which answer is stale.
   */
  resync(): Promise<void> {
    this.#live = null
    return this.refresh()
  }

  /** Keeps the view fresh while the returned function is not called. */
  watch(): () => void {
    this.#watchers++
    if (this.#watchers === 1) {
      void this.refresh()
      this.#poll = setInterval(() => void this.refresh(), POLL_MS)
    }
    let stopped = false
    return () => {
      if (stopped) return
      stopped = true
      this.#watchers--
      if (this.#watchers === 0) {
        if (this.#poll !== null) clearInterval(this.#poll)
        if (this.#pending !== null) clearTimeout(this.#pending)
        this.#poll = null
        this.#pending = null
      }
    }
  }

  onRound(e: RoundEvent): void {
    this.#live = { height: e.height, round: e.round, step: e.step, proposer: e.proposer }
    if (this.view !== null) this.view = applyRoundEvent(this.view, this.#live)
    this.#schedule()
  }

  /** Blocks are kept even while nobody watches, so the chart has its minutes when opened. */
  onBlock(block: BlockSummary): void {
    this.series = addPoints(this.series, [
      { height: block.height, time: block.time, entries: block.entries },
    ])
    this.#schedule()
  }

  #schedule(): void {
    if (this.#watchers === 0 || this.#pending !== null) return
    this.#pending = setTimeout(() => {
      this.#pending = null
      void this.refresh()
    }, THROTTLE_MS)
  }
}
