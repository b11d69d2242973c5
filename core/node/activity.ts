/**
 * What the node learns about each validator from consensus itself: the height it last reported
 * (by voting or proposing on the next one) and which of the recent commits carry its precommit.
 * The network layer knows connections; only consensus knows who is taking part.
 */
import type { Block, NodeId } from '../ledger/types.ts'

/**
 * Commits remembered per validator: what the dashboard's "last 50 rounds" bar shows. Several
 * minutes of heartbeats on an idle ledger, a few seconds under load.
 */
export const ACTIVITY_WINDOW = 50

export class Activity {
  readonly #heights = new Map<NodeId, number>()
  /** Signers of the last ACTIVITY_WINDOW commits, oldest first. */
  #commits: ReadonlySet<NodeId>[] = []

  /** A validator is voting or proposing at `height`, so it has committed `height - 1`. */
  heard(validator: NodeId, height: number): void {
    const committed = height - 1
    if ((this.#heights.get(validator) ?? -1) < committed) this.#heights.set(validator, committed)
  }

  /** A block became final: its recorded last commit says who precommitted the one before. */
  committed(block: Block): void {
    const c = block.lastCommit
    if (c === null) return
    this.#commits.push(new Set(c.signatures.map((s) => s.validator)))
    if (this.#commits.length > ACTIVITY_WINDOW) this.#commits.shift()
    for (const s of c.signatures) this.heard(s.validator, c.height + 1)
  }

  height(validator: NodeId): number | null {
    return this.#heights.get(validator) ?? null
  }

  /** Per remembered commit, oldest first: whether it carries the validator's precommit. */
  votes(validator: NodeId): boolean[] {
    return this.#commits.map((signers) => signers.has(validator))
  }

  /** The share of the remembered commits that carry its precommit; null before any. */
  votedShare(validator: NodeId): number | null {
    if (this.#commits.length === 0) return null
    let n = 0
    for (const signers of this.#commits) if (signers.has(validator)) n++
    return n / this.#commits.length
  }
}
