/**
 * The recent heights as this node lived them: how many rounds each took, how long, whether it
 * was decided here or learnt by block sync, and why each round that decided nothing failed. The
 * dashboard's round timeline reads this.
 *
 * Why a round failed is read from the consensus machine's own state when the node leaves the
 * round: its states are immutable snapshots, so the last one seen of a height still tells what
 * the node held of that height's rounds after the machine has moved on to the next.
 */
import { proposerOf } from '../consensus/machine.ts'
import type { ConsensusState, RoundVotes, Step } from '../consensus/types.ts'
import { exceeds, totalWeight } from '../ledger/quorum.ts'
import type { Block, NodeId, SignedVote } from '../ledger/types.ts'

/** The first step of a round that did not complete. */
export type StalledStep = 'propose' | 'prevote' | 'precommit'

export interface FailedRound {
  readonly round: number
  /** The step this node was in when it moved on; null for a round it skipped without entering. */
  readonly step: Step | null
  /** The first step that did not complete, judged by what this node held when it moved on. */
  readonly stalled: StalledStep
  readonly proposer: NodeId
  readonly reason: string
}

export interface RoundRecord {
  readonly height: number
  readonly round: number
  readonly proposer: string
  readonly entries: number
  readonly durationMs: number
  readonly outcome: 'committed' | 'synced'
  readonly time: number
  /** Rounds of the height that failed here, oldest first; [] when learnt by sync. */
  readonly failed: readonly FailedRound[]
}

/** Heights kept. */
const KEEP = 100
/**
 * Failed rounds kept per height, the latest: a height whose rounds keep failing (a validator the
 * quorum needs lagging, messages lost) fails one every few seconds for as long as it lasts, and
 * its latest rounds say why.
 */
export const MAX_FAILED = 20

export class RoundLog {
  #startedAt: number
  #records: RoundRecord[] = []
  readonly #nameOf: (id: NodeId) => string
  /** The last consensus state seen; its height is the one being decided, or just decided. */
  #last: ConsensusState | null = null
  /** The rounds of #last's height that failed here so far, oldest first. */
  #failed: FailedRound[] = []

  /** `nameOf` names a validator in reasons: its member name, or its short id. */
  constructor(now: number, nameOf: (id: NodeId) => string) {
    this.#startedAt = now
    this.#nameOf = nameOf
  }

  /** Consensus changed height, round or step: a round it left at the same height failed. */
  observe(m: ConsensusState): void {
    const last = this.#last
    if (last === null || last.height !== m.height) this.#failed = []
    else if (m.round > last.round) this.#leave(last, m, m.round, 'moved')
    this.#last = m
  }

  committed(block: Block, round: number, synced: boolean, now: number): void {
    const height = block.header.height
    const last = this.#last
    let failed: FailedRound[] = []
    if (!synced && last !== null && last.height === height) {
      // A quorum for a later round can decide before this node saw itself move there.
      if (last.round < round) this.#leave(last, last, round, 'decided')
      // Rounds it entered after the deciding one (late precommits decided) failed nothing.
      failed = this.#failed.filter((f) => f.round < round)
    }
    if (last?.height === height) this.#failed = []
    this.#records.push({
      height,
      round,
      proposer: block.header.proposer,
      entries: block.entries.length,
      durationMs: Math.max(0, now - this.#startedAt),
      outcome: synced ? 'synced' : 'committed',
      time: now,
      failed,
    })
    if (this.#records.length > KEEP) this.#records.shift()
    this.#startedAt = now
  }

  /** Newest first. */
  recent(limit = KEEP): RoundRecord[] {
    return this.#records.slice(-limit).reverse()
  }

  /** The rounds of `height`, the one being decided, that failed here so far, oldest first. */
  failedAt(height: number): FailedRound[] {
    return this.#last?.height === height ? [...this.#failed] : []
  }

  /**
   * The node left `from`'s round for `next` (or the height was decided in `next`): that round
   * failed, and so did every round between, which it skipped. `held` is the state that holds
   * the freshest messages of the height; but it has pruned the rounds more than ROUNDS_BEHIND
   * below its own (core/consensus/machine.ts), so a round it no longer holds is judged from
   * `from`, the last state that did.
   */
  #leave(from: ConsensusState, held: ConsensusState, next: number, why: 'moved' | 'decided') {
    const left = from.round
    const jumped = next > left + 1 || from.step !== 'precommit'
    const after =
      why === 'decided'
        ? `; the others decided the height in round ${next}`
        : jumped
          ? `; the others had moved on to round ${next}`
          : ''
    const holding = (round: number) => (held.rounds.has(round) ? held : from)
    const stall = this.#stall(holding(left), left)
    this.#push({ round: left, step: from.step, ...stall, reason: stall.reason + after })
    // Only the last rounds of a long jump: the rest would be dropped by the bound at once.
    for (let r = Math.max(left + 1, next - MAX_FAILED); r < next; r++) {
      const skipped = this.#stall(holding(r), r)
      this.#push({
        round: r,
        step: null,
        ...skipped,
        reason:
          why === 'decided'
            ? `skipped: the others decided the height in round ${next}`
            : `skipped: the others had moved on to round ${next}`,
      })
    }
  }

  #push(f: FailedRound): void {
    this.#failed.push(f)
    if (this.#failed.length > MAX_FAILED) this.#failed.shift()
  }

  /** What held up `round`, from the messages of it that `m` holds. */
  #stall(
    m: ConsensusState,
    round: number,
  ): { stalled: StalledStep; proposer: NodeId; reason: string } {
    const proposer = proposerOf(m, round)
    const rv: RoundVotes | undefined = m.rounds.get(round)
    if (rv === undefined || rv.proposal === null) {
      return {
        stalled: 'propose',
        proposer,
        reason: `no proposal from ${this.#nameOf(proposer)} in time`,
      }
    }
    const weights = new Map(m.validators.map((v) => [v.id, v.weight]))
    const total = totalWeight(m.validators)
    const quorum = m.config.thresholds.quorum
    const polka = [...blockWeights(rv.prevotes, weights).values()].some((w) =>
      exceeds(w, total, quorum),
    )
    if (!polka) {
      const invalid = rv.proposed.some((h) => m.blocks.get(h)?.valid === false)
      return {
        stalled: 'prevote',
        proposer,
        reason:
          (invalid ? `the block ${this.#nameOf(proposer)} proposed was invalid here, and ` : '') +
          `prevotes did not reach a quorum for one block (${counted(rv.prevotes, m)})`,
      }
    }
    return {
      stalled: 'precommit',
      proposer,
      reason: `precommits did not reach a quorum (${counted(rv.precommits, m)})`,
    }
  }
}

/** Weight of the votes for each block (nil left out); an equivocator counts for each of its. */
function blockWeights(
  votes: ReadonlyMap<NodeId, readonly SignedVote[]>,
  weights: ReadonlyMap<NodeId, number>,
): Map<string, number> {
  const out = new Map<string, number>()
  for (const [id, list] of votes) {
    for (const v of list) {
      const value = v.vote.value
      if (value !== null) out.set(value, (out.get(value) ?? 0) + (weights.get(id) ?? 0))
    }
  }
  return out
}

/** "2 for a block, 1 nil, 1 not received, of 4": validators by their first vote held here. */
function counted(votes: ReadonlyMap<NodeId, readonly SignedVote[]>, m: ConsensusState): string {
  let block = 0
  let nil = 0
  for (const v of m.validators) {
    const first = votes.get(v.id)?.[0]
    if (first === undefined) continue
    if (first.vote.value === null) nil++
    else block++
  }
  const missing = m.validators.length - block - nil
  return `${block} for a block, ${nil} nil, ${missing} not received, of ${m.validators.length}`
}
