/**
 * Write-ahead records as a node really writes them: a consensus machine of the unit-test cluster
 * driven through a random walk of one height (timeouts, proposals and votes from any validator,
 * equivocations, rounds skipped, locks and valid values, restarts from the last record), every
 * record it persists collected. Moves are plain data relative to the machine's current round, so
 * fast-check shrinks a failing walk to its few decisive moves.
 */
import fc from 'fast-check'
import { initialState, proposerOf, step } from '../../core/consensus/machine.ts'
import type { ConsensusState, Input, WalRecord } from '../../core/consensus/types.ts'
import type { FaultModel } from '../../core/ledger/types.ts'
import { Cluster } from '../unit/consensus/harness.ts'

const BLOCKS = ['A', 'B', 'C'] as const

/** A block by letter, or the one last proposed in the walk (which is what makes polkas happen). */
type BlockChoice = number | 'proposed'

type Move =
  | {
      readonly kind: 'timeout'
      readonly which: 'idle' | 'propose' | 'prevote' | 'precommit'
      readonly ahead: number
    }
  | {
      readonly kind: 'proposal'
      /** The round's rightful proposer, or any validator (whose proposal is ignored or equivocal). */
      readonly from: number | 'proposer'
      readonly ahead: number
      readonly block: number
      readonly pol: number
      readonly valid: boolean
    }
  | {
      readonly kind: 'vote'
      readonly type: 'prevote' | 'precommit'
      readonly from: number
      readonly ahead: number
      readonly block: BlockChoice | null
    }
  /** Every other validator votes alike in the current round: polkas, locks, commits, skips. */
  | {
      readonly kind: 'quorum'
      readonly type: 'prevote' | 'precommit'
      readonly block: BlockChoice | null
    }
  | { readonly kind: 'value'; readonly block: number }
  | { readonly kind: 'work' }
  | { readonly kind: 'peer-lost'; readonly who: number }
  /** The node restarts from the last record it persisted. */
  | { readonly kind: 'restart' }

export interface Walk {
  readonly model: FaultModel
  readonly size: number
  readonly self: number
  readonly waitForWork: boolean
  readonly moves: readonly Move[]
}

const ahead = fc.constantFrom(0, 0, 0, 0, 1, 2)
const who = fc.nat(7)
const letter = fc.nat(BLOCKS.length - 1)
const choice: fc.Arbitrary<BlockChoice | null> = fc.oneof(
  { arbitrary: fc.constant<'proposed'>('proposed'), weight: 4 },
  { arbitrary: letter, weight: 1 },
  { arbitrary: fc.constant(null), weight: 2 },
)
const voteType = fc.constantFrom<'prevote' | 'precommit'>('prevote', 'precommit')

const move: fc.Arbitrary<Move> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('timeout'),
      which: fc.constantFrom('idle', 'propose', 'prevote', 'precommit'),
      ahead: fc.constantFrom(0, 0, 1),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('proposal'),
      from: fc.oneof({ arbitrary: fc.constant<'proposer'>('proposer'), weight: 3 }, who),
      ahead,
      block: letter,
      pol: fc.nat(3),
      valid: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, fc.constant(false)),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('vote'),
      type: voteType,
      from: who,
      ahead,
      block: choice,
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('quorum'), type: voteType, block: choice }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('value'), block: letter }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('work') }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('peer-lost'), who }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('restart') }), weight: 1 },
)

export const walks: fc.Arbitrary<Walk> = fc
  .record({
    model: fc.constantFrom<FaultModel>('crash', 'byzantine'),
    size: fc.constantFrom(3, 4),
    self: fc.nat(3),
    waitForWork: fc.boolean(),
    moves: fc.array(move, { minLength: 1, maxLength: 60, size: 'medium' }),
  })
  .map((w) => ({ ...w, self: w.self % w.size }))

const clusters = new Map<string, Cluster>()

function clusterFor(size: number, model: FaultModel): Cluster {
  const key = `${size} ${model}`
  let c = clusters.get(key)
  if (c === undefined) {
    c = new Cluster(size, model)
    clusters.set(key, c)
  }
  return c
}

/**
 * The other validators, within the fault model: an honest one prevotes or precommits a block in
 * round r only if the round's rightful proposer proposed it, and a proposer proposes one block a
 * round. In byzantine mode with four validators one of them (f = 1) may do anything. Without
 * these rules a walk could build polkas nobody honest would vote for, and the machine's answers
 * to states it can never reach would drown the records it really writes.
 */
class Peers {
  readonly #c: Cluster
  readonly #walk: Walk
  readonly #others: number[]
  readonly #byzantine: number | null
  /** The block each round's rightful proposer proposed, by name. */
  readonly proposed = new Map<number, string>()
  last: string = BLOCKS[0]

  constructor(c: Cluster, walk: Walk) {
    this.#c = c
    this.#walk = walk
    // Votes signed with the node's own key come only from the machine: one it has no record of
    // is a node that lost its record, which is outside the model too.
    this.#others = Array.from({ length: walk.size }, (_, i) => i).filter((i) => i !== walk.self)
    this.#byzantine = walk.model === 'byzantine' && walk.size >= 4 ? this.#others[0]! : null
  }

  other(n: number): number {
    return this.#others[n % this.#others.length]!
  }

  get others(): readonly number[] {
    return this.#others
  }

  /** The block an honest `from` would vote for in `round` when asked for `want`: it or nil. */
  value(from: number, round: number, want: BlockChoice | null): string | null {
    const name = want === null ? null : want === 'proposed' ? this.last : BLOCKS[want]!
    if (from === this.#byzantine || name === null) return name
    return this.proposed.get(round) === name ? name : null
  }

  /** The block `from` proposes in `round` when asked for `want`, or null when it would not. */
  proposal(from: number, rightful: number, round: number, want: string): string | null {
    if (from === this.#walk.self) return null // the machine makes its own
    if (from === this.#byzantine) return want
    if (from !== rightful) return null // an honest non-proposer proposes nothing
    return this.proposed.get(round) ?? want
  }

  /** Notes a proposal by the round's rightful proposer, the node's own included. */
  heard(round: number, hash: string): void {
    const name = this.#c.blockName(hash)
    if (name === null) return
    if (!this.proposed.has(round)) this.proposed.set(round, name)
    this.last = name
  }
}

/**
 * Runs the walk and hands every record the machine persists to `persisted`, in order. A restart
 * resumes from `restore(last record)`, which is how the node reads it back from its vote log.
 */
export function runWalk(
  walk: Walk,
  persisted: (wal: WalRecord) => void,
  restore: (wal: WalRecord) => WalRecord = (w) => w,
): void {
  const c = clusterFor(walk.size, walk.model)
  const config = c.config(walk.self, walk.waitForWork)
  const peers = new Peers(c, walk)
  let state: ConsensusState = initialState(config)
  let last: WalRecord | undefined
  const feed = (input: Input) => {
    const t = step(state, input)
    state = t.state
    for (const e of t.effects) {
      if (e.type === 'broadcast-proposal') {
        peers.heard(e.proposal.proposal.round, e.proposal.proposal.blockHash)
      }
      if (e.type !== 'persist') continue
      persisted(e.wal)
      last = e.wal
    }
  }
  const vote = (
    type: 'prevote' | 'precommit',
    from: number,
    round: number,
    want: BlockChoice | null,
  ) => {
    const value = peers.value(from, round, want)
    feed(type === 'prevote' ? c.prevote(from, round, value) : c.precommit(from, round, value))
  }
  feed(c.start())
  for (const m of walk.moves) {
    const round = state.round
    switch (m.kind) {
      case 'timeout':
        feed(c.timeout(m.which, round + m.ahead))
        break
      case 'proposal': {
        const r = round + m.ahead
        const rightful = c.validators.findIndex((v) => v.id === proposerOf(state, r))
        const from = m.from === 'proposer' ? rightful : peers.other(m.from)
        const block = peers.proposal(from, rightful, r, BLOCKS[m.block]!)
        if (block === null) break
        // vr: a round in which this block was proposed, so that a polka for it could exist.
        const vr = m.pol === 0 ? -1 : r - m.pol
        const polRound = vr >= 0 && peers.proposed.get(vr) === block ? vr : -1
        if (from === rightful) peers.heard(r, c.hash(block))
        feed(c.proposal(from, r, block, { polRound, valid: m.valid }))
        break
      }
      case 'vote':
        vote(m.type, peers.other(m.from), round + m.ahead, m.block)
        break
      case 'quorum':
        for (const v of peers.others) vote(m.type, v, round, m.block)
        break
      case 'value':
        feed(c.value(round, BLOCKS[m.block]!))
        break
      case 'work':
        feed({ type: 'work' })
        break
      case 'peer-lost':
        feed(c.peerLost(peers.other(m.who)))
        break
      case 'restart':
        state = initialState(config)
        feed(c.start(last === undefined ? {} : { wal: restore(last) }))
        break
    }
  }
}
