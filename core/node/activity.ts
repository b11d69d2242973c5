/**
 * What the node learns about each validator from consensus itself: the height it last reported
 * (by voting or proposing on the next one) and how many of the recent commits carry its
 * precommit. The network layer knows connections; only consensus knows who is taking part.
 */
import type { Block, NodeId } from '../ledger/types.ts'

/** Commits remembered for the voted share: a minute of heartbeats, a fraction of a second under load. */
const WINDOW = 20

export class Activity {
  readonly #heights = new Map<NodeId, number>()
  /** Signers of the last WINDOW commits, oldest first. */
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
    if (this.#commits.length > WINDOW) this.#commits.shift()
    for (const s of c.signatures) this.heard(s.validator, c.height + 1)
  }

  height(validator: NodeId): number | null {
    return this.#heights.get(validator) ?? null
  }

  votedShare(validator: NodeId): number | null {
    if (this.#commits.length === 0) return null
    let n = 0
    for (const signers of this.#commits) if (signers.has(validator)) n++
    return n / this.#commits.length
  }
}
