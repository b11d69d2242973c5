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
 * - Rounds are bounded (L55 and the vote keeper): votes are kept for the rounds from
 *   `ROUNDS_BEHIND` below the current one to `ROUNDS_AHEAD` above it (and those of the lock, the
 *   valid value and a kept proposal's polka); of a validator's votes further ahead only its
 *   highest, which moves the node only out of a failed round. A skip (L55) lands at most one
 *   round above `skipFrom` unless two validators' worth were heard from further up.
 *   Safety does not depend on which rounds a node enters, nor on which votes it keeps (a vote
 *   not kept can only make it wait); see `docs/consensus.md`.
 */
import { blockHash } from '../ledger/hashing.ts'
import { exceeds, type Share, totalWeight } from '../ledger/quorum.ts'
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
import type { ConsensusMessage } from './messages.ts'
import { proposerFor } from './proposer.ts'
import {
  type ConsensusConfig,
  type ConsensusState,
  type Effect,
  type Input,
  type KnownBlock,
  MAX_ROUND,
  type RoundVotes,
  type Step,
  type Timeout,
  type Transition,
  type WalRecord,
} from './types.ts'

/** Distinct votes kept per validator, round and type: one, plus what an equivocator adds. */
const MAX_VOTES_PER_VALIDATOR = 4
/**
 * Distinct blocks kept per round from its proposer: its first, and the other one an equivocator
 * shows the rest. A block may be 16 MiB, so not more; a node that missed the block a quorum
 * decided gets it by block sync.
 */
const MAX_BLOCKS_PER_ROUND = 2
/**
 * Rounds above the current one whose messages are kept: peers a few rounds ahead (a node that
 * missed some precommits) are counted as they come; votes from further up only move a node (L55).
 */
export const ROUNDS_AHEAD = 11
/** Rounds below the current one whose votes are kept: a late quorum there still decides (L49). */
export const ROUNDS_BEHIND = 16

const EMPTY_ROUND: RoundVotes = {
  proposal: null,
  prevotes: new Map(),
  precommits: new Map(),
  proposed: [],
}

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
    ahead: new Map(),
    skipFrom: 0,
    failed: false,
    tick: null,
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

/**
 * Whether the machine would keep a vote or proposal of its height: a host asks before checking
 * the signature and the block, so that what would be dropped (rounds out of reach, a second far
 * vote no higher than the first, a block past a round's few) costs no verification. True for
 * messages of other heights, which the host judges itself.
 */
export function wouldKeep(state: ConsensusState, m: ConsensusMessage): boolean {
  if (m.type === 'vote') {
    const v = m.vote.vote
    if (v.height !== state.height) return true
    if (v.round > MAX_ROUND) return false
    if (v.round > state.round + ROUNDS_AHEAD) {
      const held = state.ahead.get(v.validator)
      return held === undefined || held.vote.round < v.round
    }
    return keepsRound(state, v.round)
  }
  const p = m.proposal.proposal
  if (p.height !== state.height) return true
  if (!keepsRound(state, p.round)) return false
  const proposed = state.rounds.get(p.round)?.proposed ?? []
  return proposed.includes(p.blockHash) || proposed.length < MAX_BLOCKS_PER_ROUND
}

/**
 * Whether messages of `round` are kept: the rounds near the current one, and further below only
 * those a rule may still look at, the lock's, the valid value's and the polka round of a proposal
 * kept.
 */
function keepsRound(
  s: Pick<ConsensusState, 'round' | 'lockedRound' | 'validRound' | 'rounds'>,
  round: number,
): boolean {
  if (round > s.round + ROUNDS_AHEAD || round > MAX_ROUND) return false
  if (round >= s.round - ROUNDS_BEHIND) return true
  if (round === s.lockedRound || round === s.validRound) return true
  for (const rv of s.rounds.values()) {
    if (rv.proposal?.proposal.polRound === round) return true
  }
  return false
}

/** The proposer of the machine's current height at `round`. */
export function proposerOf(state: ConsensusState, round: number): NodeId {
  return proposerFor(state.validators, state.height, round, state.passOver)
}

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
  private ahead: Map<NodeId, SignedVote>
  private skipFrom: number
  private failed: boolean
  private tick: { readonly round: number; readonly step: Step } | null
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
    this.ahead = new Map(s.ahead)
    this.skipFrom = s.skipFrom
    this.failed = s.failed
    this.tick = s.tick
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
      ahead: this.ahead,
      skipFrom: this.skipFrom,
      failed: this.failed,
      tick: this.tick,
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
    this.ahead = new Map()
    this.blocks = new Map()
    this.ownVotes = []
    this.ownProposals = []
    this.fired = new Set()
    this.awaitingValue = false
    this.round = 0
    this.skipFrom = 0
    this.tick = null
    this.schedule('rebroadcast', 0)
    if (wal !== undefined && wal.height === height) {
      // The round first, so that what is replayed is kept by the rounds it belongs near.
      this.round = wal.round
      this.skipFrom = wal.round
      this.lockedRound = wal.lockedRound
      this.lockedBlock = wal.lockedBlock
      this.validRound = wal.validRound
      this.validBlock = wal.validBlock
      this.validPolka = wal.validPolka
      // A record written before rounds were bounded may hold votes from far ahead: not re-sent.
      this.roundCertificate = wal.roundCertificate.filter(
        (v) => v.vote.round <= Math.min(MAX_ROUND, wal.round + ROUNDS_AHEAD),
      )
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
    this.failed = false
    this.prune()
    // Votes from further ahead that this round brings within reach are kept like any other.
    for (const [id, sv] of this.ahead) {
      if (sv.vote.round <= round + ROUNDS_AHEAD) {
        this.ahead.delete(id)
        this.receiveVote(sv)
      }
    }
    const self = this.config.signer.id
    if (this.proposer(round) === self && round <= MAX_ROUND) {
      const signed = this.ownProposals.find((p) => p.proposal.round === round)
      if (signed !== undefined) {
        // Restarted after proposing in this round: repeat the same proposal, never a second one.
        this.effects.push({ type: 'broadcast-proposal', proposal: signed })
      } else if (this.validBlock !== null) {
        // L15–16. A valid value from this very round (possible only when restarted into it with
        // a polka for a block it never proposed, outside the fault model) goes out as a fresh
        // proposal: one whose polRound is its round would be refused by every decoder, this
        // node's own record reader included.
        this.propose(this.validBlock, this.validRound < round ? this.validRound : -1)
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
    if (!this.keeps(p.round)) return
    if (this.proposer(p.round) !== p.proposer) return
    // Whatever the round's proposal, its block may be what a quorum precommits (L49): an
    // equivocating proposer can show us one block and the others another. A few of them, so
    // that it cannot fill our memory with blocks either.
    const rv = this.roundVotes(p.round)
    let proposed = rv.proposed
    if (!proposed.includes(p.blockHash) && proposed.length < MAX_BLOCKS_PER_ROUND) {
      proposed = [...proposed, p.blockHash]
    }
    if (proposed.includes(p.blockHash)) {
      const known = this.blocks.get(p.blockHash)
      if (known === undefined || (!known.valid && valid)) {
        this.blocks.set(p.blockHash, { block: sp.block, valid })
      }
    }
    if (rv.proposal !== null) {
      const first = rv.proposal.proposal
      if (first.blockHash !== p.blockHash || first.polRound !== p.polRound) {
        this.evidence(p.proposer, p.round, 'proposal')
      }
      if (proposed !== rv.proposed) this.rounds.set(p.round, { ...rv, proposed })
      return
    }
    this.rounds.set(p.round, { ...rv, proposal: sp, proposed })
    this.wake()
  }

  private receiveVote(sv: SignedVote): void {
    const v = sv.vote
    if (v.height !== this.height || v.ledger !== this.config.ledger) return
    if (!this.weights.has(v.validator)) return
    if (v.round > this.round + ROUNDS_AHEAD) {
      this.keepAhead(sv)
      return
    }
    if (!this.keeps(v.round)) return
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

  /**
   * A vote from beyond the rounds kept: only the validator's highest counts, and only towards a
   * skip (L55), so one validator costs one vote of memory however many rounds it signs.
   */
  private keepAhead(sv: SignedVote): void {
    const v = sv.vote
    // Decoders refuse these; a host that did not is still no reason to overflow a round.
    if (v.round > MAX_ROUND) return
    const held = this.ahead.get(v.validator)
    if (held !== undefined && held.vote.round >= v.round) return
    this.ahead.set(v.validator, sv)
    this.wake()
  }

  private keeps(round: number): boolean {
    return keepsRound(
      {
        round: this.round,
        lockedRound: this.lockedRound,
        validRound: this.validRound,
        rounds: this.rounds,
      },
      round,
    )
  }

  /** Forgets the rounds left behind and the blocks only they named. */
  private prune(): void {
    const floor = this.round - ROUNDS_BEHIND
    const held = new Set<number>([this.lockedRound, this.validRound])
    for (const [r, rv] of this.rounds) {
      if (r >= floor && rv.proposal !== null) held.add(rv.proposal.proposal.polRound)
    }
    let dropped = false
    for (const r of this.rounds.keys()) {
      if (r < floor && !held.has(r)) {
        this.rounds.delete(r)
        dropped = true
      }
    }
    if (!dropped) return
    const named = new Set<Hash>()
    for (const b of [this.lockedBlock, this.validBlock]) {
      if (b !== null) named.add(blockHash(b.header))
    }
    for (const rv of this.rounds.values()) for (const h of rv.proposed) named.add(h)
    for (const h of this.blocks.keys()) if (!named.has(h)) this.blocks.delete(h)
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
        if (t.round === this.round && this.step === 'propose') {
          this.fail()
          this.castVote('prevote', null)
        }
        break
      case 'prevote':
        // L61
        if (t.round === this.round && this.step === 'prevote') {
          this.fail()
          this.castVote('precommit', null)
        }
        break
      case 'precommit':
        // L65
        if (t.round === this.round && this.round < MAX_ROUND) {
          this.fail()
          this.roundCertificate = allVotes(this.roundVotes(this.round).precommits)
          this.startRound(this.round + 1)
        }
        break
      case 'rebroadcast': {
        // A whole interval in a step that no timeout will end (too few votes here to start one)
        // is a failing round too; without this a node could wait for good on peers that are
        // all further up.
        const stuck =
          (this.step === 'prevote' && !this.fired.has('L34')) ||
          (this.step === 'precommit' && !this.fired.has('L47'))
        if (stuck && this.tick?.round === this.round && this.tick.step === this.step) this.fail()
        this.tick = { round: this.round, step: this.step }
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
  }

  /**
   * This round has failed: a timeout acted, or a whole rebroadcast interval passed in a step no
   * timeout will end. Either is time that no peer can hurry, so a skip may now land further up
   * and votes from far ahead may move us. A round that is getting on is not given up for them: a
   * timeoutPropose that comes after the proposal was prevoted does not act.
   */
  private fail(): void {
    this.skipFrom = this.round
    this.failed = true
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

  /**
   * L55: validators holding the skip share have sent messages from round `target` or later, so
   * we go there; but no further than one round above `skipFrom` (the round the height started
   * in, or the last that failed here), unless validators holding the skip share, two at least,
   * have been heard from that far up (in byzantine mode the skip share is that already). The paper counts one
   * round's senders; counting each validator at its highest round is the same rule when they
   * agree, and lets a far-ahead sender combine with a near one.
   *
   * In crash mode the skip share is a single vote, so without the bound one validator could move
   * everyone to any round at once, past what a round number holds. With it, one validator alone
   * moves a node no faster than the node's own timeouts would (L65 after a failed round); and a
   * vote from beyond the rounds kept moves it only out of a failed round (see `fail`), once. No
   * validator alone can move anyone past the highest round another validator has reached. Honest
   * nodes get into a round with a quorum's precommits of the round before (L65), which their
   * round certificate carries, so a lagging node hears two validators there and follows at once;
   * a lone node further up, without them, is reached a round per failed round.
   */
  private trySkipRound(): boolean {
    const skip = this.config.thresholds.skip
    const all = this.highestAbove(this.round, true)
    if (all.size === 0) return false
    const vouched = this.shareReached(all, skip, true)
    // Votes from far ahead alone move us only out of a failing round.
    const target = Math.max(
      vouched,
      this.shareReached(this.failed ? all : this.highestAbove(this.round, false), skip, false),
    )
    const cap = Math.min(MAX_ROUND, Math.max(this.skipFrom + 1, vouched))
    const landing = Math.min(target, cap)
    if (landing <= this.round) return false
    // Votes from beyond the rounds kept after landing have moved us as far as they may: they are
    // used up, and never re-sent, which would move our peers on again after each failed round.
    if (this.failed) {
      for (const [id, sv] of this.ahead) {
        if (sv.vote.round > landing + ROUNDS_AHEAD) this.ahead.delete(id)
      }
    }
    // The votes that brought us here, for peers stuck below (see `roundCertificate`).
    const certificate: SignedVote[] = []
    for (const [r, rv] of this.rounds) {
      if (r >= landing) certificate.push(...allVotes(rv.prevotes), ...allVotes(rv.precommits))
    }
    for (const sv of this.ahead.values()) {
      if (sv.vote.round >= landing && sv.vote.round <= landing + ROUNDS_AHEAD) certificate.push(sv)
    }
    this.roundCertificate = certificate
    this.startRound(landing)
    return true
  }

  /**
   * Each validator's highest round above `round` from which we hold a message; votes from beyond
   * the rounds kept only with `far`.
   */
  private highestAbove(round: number, far: boolean): Map<NodeId, number> {
    const out = new Map<NodeId, number>()
    const note = (id: NodeId, r: number) => {
      if ((out.get(id) ?? -1) < r) out.set(id, r)
    }
    for (const [r, rv] of this.rounds) {
      if (r <= round) continue
      if (rv.proposal !== null) note(rv.proposal.proposal.proposer, r)
      for (const id of rv.prevotes.keys()) note(id, r)
      for (const id of rv.precommits.keys()) note(id, r)
    }
    if (far) for (const [id, sv] of this.ahead) if (sv.vote.round > round) note(id, sv.vote.round)
    return out
  }

  /**
   * The highest round r such that the validators heard from at r or above exceed `share` (with
   * `vouched`, and are two at least, so that no validator alone can claim it), or -1.
   */
  private shareReached(highest: ReadonlyMap<NodeId, number>, share: Share, vouched: boolean) {
    const byRound = [...highest].sort((a, b) => b[1] - a[1])
    let w = 0
    let n = 0
    for (const [id, r] of byRound) {
      const weight = this.weights.get(id) ?? 0
      if (weight === 0) continue
      w += weight
      n++
      if (exceeds(w, this.total, share) && (!vouched || n >= 2)) return r
    }
    return -1
  }

  // L65 without its timeout, when a quorum precommitted nil (see the liberties above).
  private tryNextRoundOnNil(): boolean {
    if (this.round >= MAX_ROUND) return false
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
    // Only a record from before rounds were bounded resumes above MAX_ROUND: peers refuse what
    // it would sign there, so it follows until block sync takes it to the next height.
    if (this.round > MAX_ROUND) return
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
