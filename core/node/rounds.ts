/**
 * The recent heights as this node lived them: how many rounds each took, how long, and whether
 * it was decided here or learnt by block sync. The dashboard's round timeline reads this.
 */
import type { Block } from '../ledger/types.ts'

export interface RoundRecord {
  readonly height: number
  readonly round: number
  readonly proposer: string
  readonly entries: number
  readonly durationMs: number
  readonly outcome: 'committed' | 'synced'
  readonly time: number
}

const KEEP = 100

export class RoundLog {
  #startedAt: number
  #records: RoundRecord[] = []

  constructor(now: number) {
    this.#startedAt = now
  }

  committed(block: Block, round: number, synced: boolean, now: number): void {
    this.#records.push({
      height: block.header.height,
      round,
      proposer: block.header.proposer,
      entries: block.entries.length,
      durationMs: Math.max(0, now - this.#startedAt),
      outcome: synced ? 'synced' : 'committed',
      time: now,
    })
    if (this.#records.length > KEEP) this.#records.shift()
    this.#startedAt = now
  }

  /** Newest first. */
  recent(limit = KEEP): RoundRecord[] {
    return this.#records.slice(-limit).reverse()
  }
}
