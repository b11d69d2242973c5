/**
 * What the node shows of itself: its status, its peers and the round being decided. Built on
 * demand from the node's parts (consensus state, ledger state, network health, activity), never
 * stored, so it cannot drift from them.
 */
import { proposerFor } from '../consensus/proposer.ts'
import type { ConsensusState, Step } from '../consensus/types.ts'
import { DEFAULT_DECIMALS } from '../ledger/limits.ts'
import { minimumExceeding, thresholdsFor, totalWeight } from '../ledger/quorum.ts'
import type { LedgerState } from '../ledger/state.ts'
import type { AssetInfo, Genesis, Hash, NodeId } from '../ledger/types.ts'
import type { PeerHealth } from '../net/host.ts'
import type { Activity } from './activity.ts'
import type { FailedRound, RoundLog, RoundRecord } from './rounds.ts'

export interface NodeStatus {
  readonly nodeId: NodeId
  readonly name: string
  readonly ledger: Hash
  readonly ledgerName: string
  readonly faultModel: Genesis['faultModel']
  readonly height: number
  readonly round: number
  readonly step: Step
  readonly members: number
  readonly online: number
  readonly quorum: number
  readonly hasQuorum: boolean
  readonly stateHash: Hash
  readonly pending: number
  readonly lastBlockTime: number | null
  /** The genesis assets, in its order. */
  readonly assets: readonly AssetInfo[]
  /** The decimals of an asset the genesis does not name. */
  readonly defaultDecimals: number
}

export interface PeerInfo extends Omit<PeerHealth, 'score'> {
  readonly score: number | null
  readonly name: string
  readonly self: boolean
  readonly member: boolean
  readonly height: number | null
  readonly votedShare: number | null
  /** Per remembered commit, oldest first, whether it carries its precommit; [] for a non-validator. */
  readonly recentVotes: readonly boolean[]
}

export interface VoteInfo {
  readonly validator: NodeId
  readonly prevote: Hash | null | undefined
  readonly precommit: Hash | null | undefined
}

export interface RoundsInfo {
  readonly height: number
  readonly round: number
  readonly step: Step
  readonly proposer: NodeId
  /** Per validator, what it voted in the current round: a block hash, null for nil, undefined for nothing yet. */
  readonly votes: readonly VoteInfo[]
  readonly recent: readonly RoundRecord[]
  /** The rounds of this height that failed here so far, oldest first. */
  readonly failed: readonly FailedRound[]
}

/** The node's parts a view is read from. */
export interface ViewSource {
  readonly id: NodeId
  readonly genesis: Genesis
  /** The machine's name in its settings, shown until the ledger names it. */
  readonly name: string
  readonly state: LedgerState
  readonly consensus: ConsensusState
  readonly pending: number
  readonly activity: Activity
  readonly rounds: RoundLog
  blockTime(height: number): number | null
  connected(): readonly NodeId[]
  health(): readonly PeerHealth[]
  addrs(): string[]
}

export function nodeStatus(src: ViewSource): NodeStatus {
  const { state, consensus: m } = src
  const validators = state.validators()
  const total = totalWeight(validators)
  const connected = new Set(src.connected())
  let online = 0
  for (const v of validators) if (v.id === src.id || connected.has(v.id)) online += v.weight
  const quorum = minimumExceeding(total, thresholdsFor(src.genesis.faultModel).quorum)
  const me = state.members().find((x) => x.id === src.id)
  return {
    nodeId: src.id,
    name: me?.name || src.name,
    ledger: state.ledger,
    ledgerName: src.genesis.name,
    faultModel: src.genesis.faultModel,
    height: state.height,
    round: m.round,
    step: m.step,
    members: state.members().length,
    online,
    quorum,
    hasQuorum: online >= quorum,
    stateHash: state.stateHash,
    pending: src.pending,
    lastBlockTime: src.blockTime(state.height),
    assets: src.genesis.assets,
    defaultDecimals: DEFAULT_DECIMALS,
  }
}

/** Every member (this node marked `self`), then any other peer connected now. */
export function peerInfos(src: ViewSource): PeerInfo[] {
  const health = new Map(src.health().map((h) => [h.id, h]))
  const members = src.state.members()
  const validators = new Set(src.state.validators().map((v) => v.id))
  const row = (id: NodeId, name: string, member: boolean): PeerInfo => {
    const h = health.get(id)
    const self = id === src.id
    return {
      id,
      name,
      self,
      member,
      connected: self || (h?.connected ?? false),
      since: h?.since ?? null,
      latencyMs: self ? 0 : (h?.latencyMs ?? null),
      lastMessage: h?.lastMessage ?? null,
      addrs: self ? src.addrs() : (h?.addrs ?? []),
      height: self ? src.state.height : src.activity.height(id),
      votedShare: src.activity.votedShare(id),
      recentVotes: validators.has(id) ? src.activity.votes(id) : [],
      score: self ? null : (h?.score ?? null),
    }
  }
  const out = members.map((m) => row(m.id, m.name, true))
  for (const h of health.values()) {
    if (!members.some((m) => m.id === h.id)) out.push(row(h.id, '', false))
  }
  return out
}

export function roundsInfo(src: ViewSource): RoundsInfo {
  const m = src.consensus
  const votes = m.rounds.get(m.round)
  return {
    height: m.height,
    round: m.round,
    step: m.step,
    proposer: proposerFor(m.validators, m.height, m.round, m.passOver),
    votes: m.validators.map((v) => ({
      validator: v.id,
      prevote: votes?.prevotes.get(v.id)?.[0]?.vote.value,
      precommit: votes?.precommits.get(v.id)?.[0]?.vote.value,
    })),
    recent: src.rounds.recent(),
    failed: src.rounds.failedAt(m.height),
  }
}
