/**
 * How long each timeout lasts. The machine only names timeouts; these settings give them a
 * length, so the same machine runs on a LAN, a slow site link or a simulated clock.
 */
import type { Timeout } from './types.ts'

export interface Timing {
  /** Waiting for a proposal in round 0 (Tendermint's timeoutPropose). */
  readonly proposeMs: number
  readonly prevoteMs: number
  readonly precommitMs: number
  /** Added to each of the three per round beyond 0, so a slow network eventually gets through. */
  readonly roundDeltaMs: number
  readonly capMs: number
  /** An empty heartbeat height after this long without entries, so liveness stays visible. */
  readonly idleMs: number
  /** Re-send of our own proposal and votes until the height is decided. */
  readonly rebroadcastMs: number
  /** Re-send of entries still waiting for a block. */
  readonly relayMs: number
  /** Entries received within this window leave in one gossip message. */
  readonly batchMs: number
  /** Least time between two block-sync requests to one peer, or two pushes to one laggard. */
  readonly syncRetryMs: number
}

export const LAN_TIMING: Timing = {
  proposeMs: 500,
  prevoteMs: 250,
  precommitMs: 250,
  roundDeltaMs: 250,
  capMs: 10_000,
  idleMs: 5_000,
  rebroadcastMs: 1_000,
  relayMs: 2_000,
  batchMs: 1,
  syncRetryMs: 500,
}

export function timeoutMs(t: Timeout, timing: Timing): number {
  const grow = (base: number) => Math.min(timing.capMs, base + t.round * timing.roundDeltaMs)
  switch (t.kind) {
    case 'propose':
      return grow(timing.proposeMs)
    case 'prevote':
      return grow(timing.prevoteMs)
    case 'precommit':
      return grow(timing.precommitMs)
    case 'idle':
      return timing.idleMs
    case 'rebroadcast':
      return timing.rebroadcastMs
  }
}
