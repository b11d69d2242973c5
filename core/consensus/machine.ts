/**
 * Tendermint as a pure state machine: `step(state, input) → { state, effects }`.
 *
 * Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus" (arXiv 1807.04938), Algorithm 1.
 * Each rule carries the line number of the paper it implements. Thresholds are shares of the
 * total weight (see `core/ledger/quorum.ts`): "2f+1" below reads "a quorum", "f+1" reads "the
 * skip share". The machine reads no clock, no random source and no network; it does not mutate
 * its input state.
 *
 * Two liberties, both safe:
 * - Lines 36 and 49 ask for PROPOSAL(h, r, v) together with the votes of round r. We accept a
 *   valid block with that hash from any round's proposal: the votes are what carry safety, the
 *   block is only needed to know v and that it is valid.
 * - A timeout may fire early (peer-lost): only liveness depends on timeouts.
 * - A quorum of nil precommits in our round starts the next round at once, not after
 *   timeoutPrecommit (L65): a quorum is more than half, so no block can gather one in that round
 *   any more, and a decision of the round would still be taken later (L49 looks at every round).
 *   A crashed proposer otherwise costs a whole timeoutPrecommit after its round has failed.
 */
import { blockHash } from '../ledger/hashing.ts'
import { exceeds, totalWeight } from '../ledger/quorum.ts'
import { commitFromVotes, signProposal, signVote } from '../ledger/signing.ts'
import type {
  Block,
  Hash,
  NodeId,
  SignedProposal,
  SignedVote,
  Validator,
  VoteType,
} from '../ledger/types.ts'
import { proposerFor } from './proposer.ts'
import type {
  ConsensusConfig,
  ConsensusState,
  Effect,
  Input,
  KnownBlock,
  RoundVotes,
  Step,
  Timeout,
  Transition,
  WalRecord,
} from './types.ts'

/** A machine before its first height: it waits for `start-height`. */
export function initialState(config: ConsensusConfig): ConsensusState {
  return {
    config,
    height: 0,
    round: 0,
    step: 'decided',
    validators: [],
    passOver: [],
    lockedRound: -1,
    lockedBlock: null,
    validRound: -1,
    validBlock: null,
    validPolka: [],
    roundCertificate: [],
    rounds: new Map(),
    blocks: new Map(),
    ownVotes: [],
    ownProposals: [],
    fired: new Set(),
    awaitingValue: false,
  }
}

export function step(state: ConsensusState, input: Input): Transition {
  const d = new Draft(state)
  d.apply(input)
  return { state: d.finish(), effects: d.effects }
}

/** The proposer of the machine's current height at `round`. */
export function proposerOf(state: ConsensusState, round: number): NodeId {
  return proposerFor(state.validators, state.height, round, state.passOver)
}

/** Distinct votes kept per validator, round and type: one, plus what an equivocator adds. */
const MAX_VOTES_PER_VALIDATOR = 4

const EMPTY_ROUND: RoundVotes = { proposal: null, prevotes: new Map(), precommits: new Map() }

/** A mutable working copy of one state for the length of one step. */
class Draft {
  readonly effects: Effect[] = []
  private readonly config: ConsensusConfig
  private height: number
  private round: number
  private step: Step
  private validators: readonly Validator[]
  private passOver: readonly NodeId[]
  private lockedRound: number
  private lockedBlock: Block | null
  private validRound: number
  private validBlock: Block | null
  private validPolka: readonly SignedVote[]
  private roundCertificate: readonly SignedVote[]
  private rounds: Map<number, RoundVotes>
  private blocks: Map<Hash, KnownBlock>
  private ownVotes: SignedVote[]
  private ownProposals: SignedProposal[]
  private fired: Set<'L34' | 'L36' | 'L47'>
  private awaitingValue: boolean
  private weights: Map<NodeId, number>
  private total: number

  constructor(s: ConsensusState) {
    this.config = s.config
    this.height = s.height
    this.round = s.round
    this.step = s.step
    this.validators = s.validators
    this.passOver = s.passOver
    this.lockedRound = s.lockedRound
    this.lockedBlock = s.lockedBlock
    this.validRound = s.validRound
    this.validBlock = s.validBlock
    this.validPolka = s.validPolka
    this.roundCertificate = s.roundCertificate
    this.rounds = new Map(s.rounds)
    this.blocks = new Map(s.blocks)
    this.ownVotes = [...s.ownVotes]
    this.ownProposals = [...s.ownProposals]
    this.fired = new Set(s.fired)
    this.awaitingValue = s.awaitingValue
    this.weights = new Map(s.validators.map((v) => [v.id, v.weight]))
    this.total = totalWeight(s.validators)
  }

  finish(): ConsensusState {
    return {
      config: this.config,
      height: this.height,
      round: this.round,
      step: this.step,
      validators: this.validators,
      passOver: this.passOver,
      lockedRound: this.lockedRound,
      lockedBlock: this.lockedBlock,
      validRound: this.validRound,
      validBlock: this.validBlock,
      validPolka: this.validPolka,
      roundCertificate: this.roundCertificate,
      rounds: this.rounds,
      blocks: this.blocks,
      ownVotes: this.ownVotes,
      ownProposals: this.ownProposals,
      fired: this.fired,
      awaitingValue: this.awaitingValue,
    }
  }

  apply(input: Input): void {
    switch (input.type) {
      case 'start-height':
        this.startHeight(input.height, input.validators, input.passOver, input.wal)
        break
      case 'proposal':
        if (this.step === 'decided') return
        this.receiveProposal(input.proposal, input.valid)
        break
      case 'vote':
        if (this.step === 'decided') return
        this.receiveVote(input.vote)
        break
      case 'value':
        // L18–19: the value the proposer asked for.
        if (
          input.height === this.height &&
          input.round === this.round &&
          this.step === 'propose' &&
          this.awaitingValue
        ) {
          this.awaitingValue = false
          this.propose(input.block, -1)
        }
        break
      case 'timeout':
        this.onTimeout(input.timeout)
        break
      case 'work':
        if (this.step === 'idle') this.startRound(0)
        break
      case 'peer-lost':
        // L57 early: a crashed proposer's sockets close long before timeoutPropose.
        if (
          this.step === 'propose' &&
          this.roundVotes(this.round).proposal === null &&
          this.proposer(this.round) === input.peer
        ) {
          this.castVote('prevote', null)
        }
        break
    }
    this.evaluate()
  }

  // L10 and the host's start of a new height. A WAL record of this height resumes what this node
  // signed before a restart: its votes and proposals come back, so it can only repeat them.
  private startHeight(
    height: number,
    validators: readonly Validator[],
    passOver: readonly NodeId[],
    wal: WalRecord | undefined,
  ): void {
    this.height = height
    this.validators = validators
    this.passOver = passOver
    this.weights = new Map(validators.map((v) => [v.id, v.weight]))
    this.total = totalWeight(validators)
    this.lockedRound = -1
    this.lockedBlock = null
    this.validRound = -1
    this.validBlock = null
    this.validPolka = []
    this.roundCertificate = []
    this.rounds = new Map()
    this.blocks = new Map()
    this.ownVotes = []
    this.ownProposals = []
    this.fired = new Set()
    this.awaitingValue = false
    this.round = 0
    this.schedule('rebroadcast', 0)
    if (wal !== undefined && wal.height === height) {
      this.lockedRound = wal.lockedRound
      this.lockedBlock = wal.lockedBlock
      this.validRound = wal.validRound
      this.validBlock = wal.validBlock
      this.validPolka = wal.validPolka
      this.roundCertificate = wal.roundCertificate
      for (const b of [wal.lockedBlock, wal.validBlock]) {
        if (b !== null) this.blocks.set(blockHash(b.header), { block: b, valid: true })
      }
      this.ownVotes = [...wal.votes]
      this.ownProposals = [...wal.proposals]
      this.step = 'propose' // not idle: replaying our own messages must not start a round
      for (const p of wal.proposals) this.receiveProposal(p, true)
      for (const v of [...wal.votes, ...wal.validPolka, ...wal.roundCertificate]) {
        this.receiveVote(v)
      }
      this.startRound(wal.round)
      return
    }
    if (this.config.waitForWork) {
      this.step = 'idle'
      this.schedule('idle', 0)
    } else {
      this.startRound(0)
    }
  }

  // L11–21
  private startRound(round: number): void {
    this.round = round
    this.step = 'propose'
    this.fired = new Set()
    this.awaitingValue = false
    const self = this.config.signer.id
    if (this.proposer(round) === self) {
      const signed = this.ownProposals.find((p) => p.proposal.round === round)
      if (signed !== undefined) {
        // Restarted after proposing in this round: repeat the same proposal, never a second one.
        this.effects.push({ type: 'broadcast-proposal', proposal: signed })
      } else if (this.validBlock !== null) {
        this.propose(this.validBlock, this.validRound) // L15–16
      } else {
        this.awaitingValue = true // L18
        this.effects.push({ type: 'get-value', height: this.height, round })
      }
    }
    this.schedule('propose', round) // L21
  }

  // L19: sign, persist, then broadcast; our own proposal is delivered to us at once.
  private propose(block: Block, polRound: number): void {
    const proposal = signProposal(
      this.config.signer,
      {
        ledger: this.config.ledger,
        height: this.height,
        round: this.round,
        polRound,
        blockHash: blockHash(block.header),
        proposer: this.config.signer.id,
      },
      block,
    )
    this.ownProposals.push(proposal)
    this.persist()
    this.effects.push({ type: 'broadcast-proposal', proposal })
    this.receiveProposal(proposal, true)
  }

  private receiveProposal(sp: SignedProposal, valid: boolean): void {
    const p = sp.proposal
    if (p.height !== this.height || p.ledger !== this.config.ledger) return
    if (this.proposer(p.round) !== p.proposer) return
    // Whatever the round's proposal, its block may be what a quorum precommits (L49): an
    // equivocating proposer can show us one block and the others another.
    const known = this.blocks.get(p.blockHash)
    if (known === undefined || (!known.valid && valid)) {
      this.blocks.set(p.blockHash, { block: sp.block, valid })
    }
    const rv = this.roundVotes(p.round)
    if (rv.proposal !== null) {
      const first = rv.proposal.proposal
      if (first.blockHash !== p.blockHash || first.polRound !== p.polRound) {
        this.evidence(p.proposer, p.round, 'proposal')
      }
      return
    }
    this.rounds.set(p.round, { ...rv, proposal: sp })
    this.wake()
  }

  private receiveVote(sv: SignedVote): void {
    const v = sv.vote
    if (v.height !== this.height || v.ledger !== this.config.ledger) return
    if (!this.weights.has(v.validator)) return
    const rv = this.roundVotes(v.round)
    const votes = v.type === 'prevote' ? rv.prevotes : rv.precommits
    const earlier = votes.get(v.validator) ?? []
    if (earlier.some((e) => e.vote.value === v.value)) return
    if (earlier.length > 0) {
      this.evidence(v.validator, v.round, v.type)
      // A second value is kept only if it names a block we know (or nil), so an equivocator
      // cannot fill our memory with made-up hashes.
      const known = v.value === null || this.blocks.has(v.value)
      if (!known || earlier.length >= MAX_VOTES_PER_VALIDATOR) return
    }
    const next = new Map(votes)
    next.set(v.validator, [...earlier, sv])
    this.rounds.set(
      v.round,
      v.type === 'prevote' ? { ...rv, prevotes: next } : { ...rv, precommits: next },
    )
    this.wake()
  }

  // Leaving idle: any message of this height means a peer has started it.
  private wake(): void {
    if (this.step === 'idle') this.startRound(0)
  }

  private onTimeout(t: Timeout): void {
    if (t.height !== this.height || this.step === 'decided') return
    switch (t.kind) {
      case 'idle':
        if (this.step === 'idle') this.startRound(0)
        break
      case 'propose':
        // L57
        if (t.round === this.round && this.step === 'propose') this.castVote('prevote', null)
        break
      case 'prevote':
        // L61
        if (t.round === this.round && this.step === 'prevote') this.castVote('precommit', null)
        break
      case 'precommit':
        // L65
        if (t.round === this.round) {
          this.roundCertificate = allVotes(this.roundVotes(this.round).precommits)
          this.startRound(this.round + 1)
        }
        break
      case 'rebroadcast':
        // Gossip is best effort: repeat our latest proposal and votes until the height is decided.
        for (const p of this.ownProposals) {
          if (p.proposal.round === this.round) {
            this.effects.push({ type: 'broadcast-proposal', proposal: p })
          }
        }
        for (const v of this.ownVotes) {
          if (v.vote.round >= this.round - 1) this.effects.push({ type: 'broadcast-vote', vote: v })
        }
        // The polka behind our valid block, so a peer that lost it can follow a re-proposal.
        if (this.validRound < this.round - 1) {
          for (const v of this.validPolka) this.effects.push({ type: 'broadcast-vote', vote: v })
        }
        // And the votes that brought us to this round, for peers stuck in an earlier one.
        for (const v of this.roundCertificate) {
          if (v.vote.validator !== this.config.signer.id) {
            this.effects.push({ type: 'broadcast-vote', vote: v })
          }
        }
        this.schedule('rebroadcast', 0)
        break
    }
  }

  /** Applies every rule whose condition now holds, until none does. */
  private evaluate(): void {
    for (;;) {
      if (this.step === 'decided') return
      if (this.tryDecide()) return
      if (this.trySkipRound()) continue
      if (this.step === 'idle') return
      if (this.tryNextRoundOnNil()) continue
      if (this.step === 'propose' && this.tryPrevoteOnProposal()) continue
      if (this.step !== 'propose' && this.tryLockOnPolka()) continue
      if (this.step === 'prevote' && this.tryPrecommitNil()) continue
      this.scheduleVoteTimeouts()
      return
    }
  }

  // L49: a quorum of precommits for a valid block in any round decides it.
  private tryDecide(): boolean {
    for (const [round, rv] of this.rounds) {
      for (const value of distinctValues(rv.precommits)) {
        if (value === null) continue
        const known = this.blocks.get(value)
        if (known === undefined || !known.valid) continue
        if (!this.hasQuorum(this.weightFor(rv.precommits, value))) continue
        const votes = votesFor(rv.precommits, value)
        this.step = 'decided'
        this.effects.push({
          type: 'decide',
          height: this.height,
          round,
          block: known.block,
          commit: commitFromVotes(votes),
        })
        return true
      }
    }
    return false
  }

  // L55: enough weight seen in a higher round moves us there.
  private trySkipRound(): boolean {
    let target = -1
    for (const [round, rv] of this.rounds) {
      if (round <= this.round || round <= target) continue
      if (exceeds(this.senderWeight(rv), this.total, this.config.thresholds.skip)) target = round
    }
    if (target < 0) return false
    const rv = this.roundVotes(target)
    this.roundCertificate = [...allVotes(rv.prevotes), ...allVotes(rv.precommits)]
    this.startRound(target)
    return true
  }

  // L65 without its timeout, when a quorum precommitted nil (see the liberties above).
  private tryNextRoundOnNil(): boolean {
    const rv = this.roundVotes(this.round)
    if (!this.hasQuorum(this.weightFor(rv.precommits, null))) return false
    this.roundCertificate = allVotes(rv.precommits)
    this.startRound(this.round + 1)
    return true
  }

  // L22 and L28
  private tryPrevoteOnProposal(): boolean {
    const sp = this.roundVotes(this.round).proposal
    if (sp === null) return false
    const { blockHash: value, polRound: vr } = sp.proposal
    const valid = this.blocks.get(value)?.valid === true
    const lockedHash = this.lockedBlock === null ? null : blockHash(this.lockedBlock.header)
    if (vr === -1) {
      // L22–27
      const ok = valid && (this.lockedRound === -1 || lockedHash === value)
      this.castVote('prevote', ok ? value : null)
      return true
    }
    if (vr >= 0 && vr < this.round) {
      // L28–33
      const polka = this.weightFor(this.roundVotes(vr).prevotes, value)
      if (!this.hasQuorum(polka)) return false
      const ok = valid && (this.lockedRound <= vr || lockedHash === value)
      this.castVote('prevote', ok ? value : null)
      return true
    }
    return false
  }

  // L36–43: a polka for a valid block in this round, once.
  private tryLockOnPolka(): boolean {
    if (this.fired.has('L36')) return false
    const rv = this.roundVotes(this.round)
    for (const value of distinctValues(rv.prevotes)) {
      if (value === null) continue
      const known = this.blocks.get(value)
      if (known === undefined || !known.valid) continue
      if (!this.hasQuorum(this.weightFor(rv.prevotes, value))) continue
      this.fired.add('L36')
      this.validBlock = known.block
      this.validRound = this.round
      this.validPolka = votesFor(rv.prevotes, value)
      if (this.step === 'prevote') {
        this.lockedBlock = known.block
        this.lockedRound = this.round
        this.castVote('precommit', value)
      } else {
        this.persist()
      }
      return true
    }
    return false
  }

  // L44–46
  private tryPrecommitNil(): boolean {
    const rv = this.roundVotes(this.round)
    if (!this.hasQuorum(this.weightFor(rv.prevotes, null))) return false
    this.castVote('precommit', null)
    return true
  }

  // L34–35 and L47–48
  private scheduleVoteTimeouts(): void {
    const rv = this.roundVotes(this.round)
    if (
      this.step === 'prevote' &&
      !this.fired.has('L34') &&
      this.hasQuorum(this.anyWeight(rv.prevotes))
    ) {
      this.fired.add('L34')
      this.schedule('prevote', this.round)
    }
    if (!this.fired.has('L47') && this.hasQuorum(this.anyWeight(rv.precommits))) {
      this.fired.add('L47')
      this.schedule('precommit', this.round)
    }
  }

  /**
   * Signs, persists and broadcasts a vote, then counts it. The sign guard: if this node already
   * signed a vote for this height, round and type (before a restart), it repeats that vote and
   * signs nothing new.
   */
  private castVote(type: VoteType, value: Hash | null): void {
    this.step = type
    // A member not (or no longer) in this height's validator set follows but does not vote.
    if (!this.weights.has(this.config.signer.id)) return
    const earlier = this.ownVotes.find((v) => v.vote.type === type && v.vote.round === this.round)
    if (earlier !== undefined) {
      this.effects.push({ type: 'broadcast-vote', vote: earlier })
      return
    }
    const vote = signVote(this.config.signer, {
      ledger: this.config.ledger,
      type,
      height: this.height,
      round: this.round,
      value,
      validator: this.config.signer.id,
    })
    this.ownVotes.push(vote)
    this.persist()
    this.effects.push({ type: 'broadcast-vote', vote })
    this.receiveVote(vote)
  }

  private persist(): void {
    this.effects.push({
      type: 'persist',
      wal: {
        height: this.height,
        round: this.round,
        step: this.step,
        lockedRound: this.lockedRound,
        lockedBlock: this.lockedBlock,
        validRound: this.validRound,
        validBlock: this.validBlock,
        validPolka: this.validPolka,
        roundCertificate: this.roundCertificate,
        votes: [...this.ownVotes],
        proposals: [...this.ownProposals],
      },
    })
  }

  private schedule(kind: Timeout['kind'], round: number): void {
    this.effects.push({ type: 'schedule', timeout: { kind, height: this.height, round } })
  }

  private evidence(validator: NodeId, round: number, what: 'prevote' | 'precommit' | 'proposal') {
    this.effects.push({ type: 'equivocation', validator, height: this.height, round, what })
  }

  private proposer(round: number): NodeId {
    return proposerFor(this.validators, this.height, round, this.passOver)
  }

  private roundVotes(round: number): RoundVotes {
    return this.rounds.get(round) ?? EMPTY_ROUND
  }

  private hasQuorum(weight: number): boolean {
    return exceeds(weight, this.total, this.config.thresholds.quorum)
  }

  // An equivocator counts for every value it voted for. Safe: in byzantine mode the quorum
  // intersection already assumes the faulty weight votes for everything; in crash mode nobody
  // equivocates. Needed for liveness: a node that first heard an equivocator's other vote could
  // otherwise never see the polka that the honest nodes locked on.
  private weightFor(votes: ReadonlyMap<NodeId, readonly SignedVote[]>, value: Hash | null): number {
    let w = 0
    for (const [id, list] of votes) {
      if (list.some((v) => v.vote.value === value)) w += this.weights.get(id) ?? 0
    }
    return w
  }

  private anyWeight(votes: ReadonlyMap<NodeId, readonly SignedVote[]>): number {
    let w = 0
    for (const id of votes.keys()) w += this.weights.get(id) ?? 0
    return w
  }

  /** Weight of the distinct validators that sent anything in a round. */
  private senderWeight(rv: RoundVotes): number {
    const senders = new Set<NodeId>([...rv.prevotes.keys(), ...rv.precommits.keys()])
    if (rv.proposal !== null) senders.add(rv.proposal.proposal.proposer)
    let w = 0
    for (const id of senders) w += this.weights.get(id) ?? 0
    return w
  }
}

function distinctValues(votes: ReadonlyMap<NodeId, readonly SignedVote[]>): Set<Hash | null> {
  const values = new Set<Hash | null>()
  for (const list of votes.values()) for (const v of list) values.add(v.vote.value)
  return values
}

function votesFor(votes: ReadonlyMap<NodeId, readonly SignedVote[]>, value: Hash): SignedVote[] {
  const out: SignedVote[] = []
  for (const list of votes.values()) {
    const v = list.find((x) => x.vote.value === value)
    if (v !== undefined) out.push(v)
  }
  return out
}

function allVotes(votes: ReadonlyMap<NodeId, readonly SignedVote[]>): SignedVote[] {
  return [...votes.values()].flat()
}
