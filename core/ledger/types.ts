/**
 * The ledger's data: entries, blocks, proposals, votes and commits.
 *
 * Ids, hashes and node ids are lowercase hex strings so they can key maps and travel in JSON;
 * signatures stay bytes because nothing looks them up. Amounts are bigints: a sum of safe
 * integers is not a safe integer, and a ledger must never round.
 */

/** Lowercase hex of an ed25519 public key (64 characters). A node's identity. */
export type NodeId = string
/** Lowercase hex of a SHA-256 digest (64 characters). */
export type Hash = string

export const ZERO_HASH: Hash = '0'.repeat(64)

/** Moves `amount` minor units of `asset` from one account to another. */
export interface Transfer {
  readonly kind: 'transfer'
  readonly from: string
  readonly to: string
  readonly asset: string
  readonly amount: bigint
  readonly memo: string
}

/** Adds or removes a member (a voting node). The author, a member, is the approver. */
export interface MemberChange {
  readonly kind: 'member'
  readonly action: 'add' | 'remove'
  readonly member: NodeId
  /** A human name for the machine, shown in the UI; empty on removal. */
  readonly name: string
}

export type EntryBody = Transfer | MemberChange

/** What an author signs. `time` is the author's clock, informational only. */
export interface Entry {
  /** The ledger this entry belongs to (the genesis hash), so it cannot be replayed on another. */
  readonly ledger: Hash
  readonly author: NodeId
  readonly nonce: number
  readonly time: number
  readonly body: EntryBody
}

export interface SignedEntry {
  readonly entry: Entry
  /** SHA-256 of the canonical bytes of `entry` (the signature is not part of the id). */
  readonly id: Hash
  readonly signature: Uint8Array
}

export type EntryStatus = 'submitted' | 'relayed' | 'committed' | 'rejected'

/** What applying one entry of a block did. A duplicate id is dropped: neither committed nor rejected again. */
export type EntryOutcome =
  | { readonly id: Hash; readonly status: 'committed' }
  | { readonly id: Hash; readonly status: 'rejected'; readonly reason: string }
  | { readonly id: Hash; readonly status: 'duplicate' }

export interface CommitSignature {
  readonly validator: NodeId
  readonly signature: Uint8Array
}

/** A quorum of precommits for one block in one round: the proof that the block is decided. */
export interface Commit {
  readonly height: number
  readonly round: number
  readonly blockHash: Hash
  /** Sorted by validator id, one per validator. */
  readonly signatures: readonly CommitSignature[]
}

export interface BlockHeader {
  readonly ledger: Hash
  readonly height: number
  /** The round in which the proposer built this block (a block re-proposed later keeps it). */
  readonly round: number
  readonly prevHash: Hash
  readonly proposer: NodeId
  /** The proposer's clock when it built the block, informational only. */
  readonly time: number
  /** SHA-256 over the entry ids in block order. */
  readonly entriesHash: Hash
  /** The ledger state hash after applying this block. */
  readonly stateHash: Hash
  /** Hash of `lastCommit` (ZERO_HASH when there is none). */
  readonly lastCommitHash: Hash
}

export interface Block {
  readonly header: BlockHeader
  readonly entries: readonly SignedEntry[]
  /** The commit of the previous block; null at height 1. */
  readonly lastCommit: Commit | null
}

export type VoteType = 'prevote' | 'precommit'

export interface Vote {
  readonly ledger: Hash
  readonly type: VoteType
  readonly height: number
  readonly round: number
  /** The block hash voted for, or null for nil. */
  readonly value: Hash | null
  readonly validator: NodeId
}

export interface SignedVote {
  readonly vote: Vote
  readonly signature: Uint8Array
}

export interface Proposal {
  readonly ledger: Hash
  readonly height: number
  readonly round: number
  /** The round of the polka that justifies re-proposing a block, or -1 (Tendermint's vr). */
  readonly polRound: number
  readonly blockHash: Hash
  readonly proposer: NodeId
}

export interface SignedProposal {
  readonly proposal: Proposal
  readonly signature: Uint8Array
  readonly block: Block
}

export type FaultModel = 'crash' | 'byzantine'

export interface Member {
  readonly id: NodeId
  readonly name: string
}

export interface AssetInfo {
  readonly code: string
  readonly decimals: number
}

/** The first block's ancestor. Its hash is the ledger id. */
export interface Genesis {
  readonly name: string
  readonly time: number
  readonly faultModel: FaultModel
  readonly members: readonly Member[]
  /** Assets whose decimals differ from the default of 2. */
  readonly assets: readonly AssetInfo[]
}

/** A voting member as consensus sees it. Every member weighs 1 today; weights keep the maths honest. */
export interface Validator {
  readonly id: NodeId
  readonly weight: number
}
