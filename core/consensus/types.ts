/**
 * The consensus machine's contract: its state, what goes in and what comes out.
 *
 * The machine never calls out. Its host feeds it inputs (messages whose signatures it already
 * checked, timeouts that fired, the value it asked for) and carries out its effects in order. A
 * `persist` effect must be durable before the host carries out any effect after it: that is what
 * stops a restarted node from signing something that contradicts what it signed before.
 */
import type { Keypair } from '../ledger/crypto.ts'
import type { Thresholds } from '../ledger/quorum.ts'
import type {
  Block,
  Commit,
  Hash,
  NodeId,
  SignedProposal,
  SignedVote,
  Validator,
} from '../ledger/types.ts'

/**
 * The highest round a node enters or a decoder accepts. Rounds are u32 in signed messages and i32
 * in `lockedRound`, `validRound` and `polRound`, so this keeps every round encodable; an honest
 * ledger never gets near it (see `docs/consensus.md`, "Rounds a peer can move a node to").
 */
export const MAX_ROUND = 2 ** 31 - 1

/** `idle` waits in round 0 for entries, a message from a peer, or the heartbeat timeout. */
export type Step = 'idle' | 'propose' | 'prevote' | 'precommit' | 'decided'

export type TimeoutKind = 'idle' | 'propose' | 'prevote' | 'precommit' | 'rebroadcast'

/** A timeout as plain data: the host picks its duration and feeds it back when it fires. */
export interface Timeout {
  readonly kind: TimeoutKind
  readonly height: number
  readonly round: number
}

/** What the node must keep across a crash, written before any message that depends on it. */
export interface WalRecord
  extends Pick<
    ConsensusState,
    | 'height'
    | 'round'
    | 'step'
    | 'lockedRound'
    | 'lockedBlock'
    | 'validRound'
    | 'validBlock'
    | 'validPolka'
    | 'roundCertificate'
  > {
  /** Every vote this node signed at this height: the sign guard. */
  readonly votes: readonly SignedVote[]
  /** Every proposal this node signed at this height. */
  readonly proposals: readonly SignedProposal[]
}

/** A value known at this height: a proposed block and whether the host found it valid. */
export interface KnownBlock {
  readonly block: Block
  readonly valid: boolean
}

export interface RoundVotes {
  readonly proposal: SignedProposal | null
  /**
   * Each validator's prevotes in this round: one, unless it equivocated. An equivocator's votes
   * all count, each for its own value (see `machine.ts`).
   */
  readonly prevotes: ReadonlyMap<NodeId, readonly SignedVote[]>
  readonly precommits: ReadonlyMap<NodeId, readonly SignedVote[]>
  /**
   * Hashes of the blocks the round's proposer proposed, the first proposal's first: one, unless
   * it equivocated, and then a few (each may be what a quorum precommits), never more.
   */
  readonly proposed: readonly Hash[]
}

export interface ConsensusConfig {
  readonly ledger: Hash
  readonly signer: Keypair
  readonly thresholds: Thresholds
  /**
   * Wait in `idle` for entries before round 0. Off, a height starts proposing at once (used by
   * table tests that do not care about the idle step).
   */
  readonly waitForWork: boolean
}

export interface ConsensusState {
  readonly config: ConsensusConfig
  readonly height: number
  readonly round: number
  readonly step: Step
  /** Voters of this height, sorted by id. */
  readonly validators: readonly Validator[]
  /** Validators missing from the last commit recorded in the previous block: passed over in round 0. */
  readonly passOver: readonly NodeId[]
  readonly lockedRound: number
  readonly lockedBlock: Block | null
  readonly validRound: number
  readonly validBlock: Block | null
  /**
   * The prevotes that made `validBlock` valid in `validRound`. Without them a restarted cluster
   * can be stuck for good: a node locked on a block whose polka included a machine that has
   * since died can never be unlocked, and nobody else can prove the polka again.
   */
  readonly validPolka: readonly SignedVote[]
  /**
   * The votes that moved this node into `round`: the precommits of the round before (L65) or the
   * messages of the round it skipped to (L55). Peers that lost them in a restart can follow it;
   * otherwise one node may sit in a round that the others, short of a vote from a machine that
   * has died since, can never reach.
   */
  readonly roundCertificate: readonly SignedVote[]
  /**
   * Votes are kept for the rounds near `round` only (see `machine.ts`); of a validator's votes
   * for rounds further ahead, its highest one, until it has moved this node (L55).
   */
  readonly rounds: ReadonlyMap<number, RoundVotes>
  readonly ahead: ReadonlyMap<NodeId, SignedVote>
  /**
   * A skip (L55) lands at most one round above this one, unless two validators' worth (see
   * `machine.ts`) have been heard from further up. It is the round the height started or resumed
   * in, raised to the current round whenever the round fails (a timeout acts in it): time, which
   * no peer can hurry, is what lets one validator move a node further.
   */
  readonly skipFrom: number
  /** A timeout has acted in this round: votes from beyond the rounds kept may move us now. */
  readonly failed: boolean
  /** Round and step at the last rebroadcast timeout, to tell a step that no timeout will end. */
  readonly tick: { readonly round: number; readonly step: Step } | null
  readonly blocks: ReadonlyMap<Hash, KnownBlock>
  readonly ownVotes: readonly SignedVote[]
  readonly ownProposals: readonly SignedProposal[]
  /** Rules that fire once per round (Tendermint lines 34, 36 and 47) and have fired in `round`. */
  readonly fired: ReadonlySet<'L34' | 'L36' | 'L47'>
  /** True while a `get-value` is outstanding for (height, round). */
  readonly awaitingValue: boolean
}

export type Input =
  /** Begin a height: after a decision has been applied, after block sync, or at boot. */
  | {
      readonly type: 'start-height'
      readonly height: number
      readonly validators: readonly Validator[]
      readonly passOver: readonly NodeId[]
      /** A write-ahead record of this height to resume from after a restart. */
      readonly wal?: WalRecord | undefined
    }
  /** A proposal whose signature the host checked; `valid` says whether its block is valid here. */
  | { readonly type: 'proposal'; readonly proposal: SignedProposal; readonly valid: boolean }
  /** A vote whose signature the host checked. */
  | { readonly type: 'vote'; readonly vote: SignedVote }
  /** The block the host built in answer to `get-value`. */
  | {
      readonly type: 'value'
      readonly height: number
      readonly round: number
      readonly block: Block
    }
  | { readonly type: 'timeout'; readonly timeout: Timeout }
  /** The host has entries waiting for a block. */
  | { readonly type: 'work' }
  /** The connection to a peer closed: if it is the proposer we wait for, stop waiting. */
  | { readonly type: 'peer-lost'; readonly peer: NodeId }

export type Effect =
  | { readonly type: 'persist'; readonly wal: WalRecord }
  | { readonly type: 'broadcast-proposal'; readonly proposal: SignedProposal }
  | { readonly type: 'broadcast-vote'; readonly vote: SignedVote }
  | { readonly type: 'schedule'; readonly timeout: Timeout }
  | { readonly type: 'get-value'; readonly height: number; readonly round: number }
  | {
      readonly type: 'decide'
      readonly height: number
      readonly round: number
      readonly block: Block
      readonly commit: Commit
    }
  /** A validator signed two different votes, or proposals, for one height, round and step. */
  | {
      readonly type: 'equivocation'
      readonly validator: NodeId
      readonly height: number
      readonly round: number
      readonly what: 'prevote' | 'precommit' | 'proposal'
    }

export interface Transition {
  readonly state: ConsensusState
  readonly effects: readonly Effect[]
}
