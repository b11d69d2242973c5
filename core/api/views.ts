/**
 * The node's data as the API contract shows it: plain JSON, amounts as digit strings, commits as
 * lists of signers. One mapping, shared by the HTTP routes and the event stream, so a client sees
 * an entry the same way whichever it reads.
 */
import type {
  Block,
  Commit,
  FailedRound as FailedRoundInfo,
  NodeEntry,
  NodeEventData,
  NodeSettings,
  NodeStatus,
  PeerInfo,
  RoundsInfo,
  SignedEntry,
  TallyNode,
} from '../node/index.ts'
import { shortNodeId } from '../node/index.ts'
import type {
  BalanceView,
  BlockSummary,
  BlockView,
  CommitView,
  EntryView,
  EventMessage,
  FailedRound,
  PeerView,
  RoundsView,
  SettingsView,
  StatusView,
  VoteMark,
} from './types.ts'

export function entryView(e: NodeEntry): EntryView {
  const { entry } = e.entry
  const common = {
    id: e.entry.id,
    status: e.status,
    ...(e.height === null ? {} : { height: e.height }),
    ...(e.reason === null ? {} : { reason: e.reason }),
    author: entry.author,
    nonce: entry.nonce,
    time: entry.time,
    received: e.received,
    local: e.local,
  }
  const b = entry.body
  return b.kind === 'transfer'
    ? {
        ...common,
        kind: 'transfer',
        from: b.from,
        to: b.to,
        asset: b.asset,
        amount: b.amount.toString(),
        memo: b.memo,
      }
    : { ...common, kind: 'member', action: b.action, member: b.member, name: b.name }
}

export function commitView(c: Commit): CommitView {
  return {
    height: c.height,
    round: c.round,
    blockHash: c.blockHash,
    signers: c.signatures.map((s) => s.validator),
  }
}

export function blockView(
  b: { block: Block; commit: Commit; hash: string },
  statusOf: (e: SignedEntry) => NodeEntry,
): BlockView {
  const h = b.block.header
  return {
    height: h.height,
    hash: b.hash,
    round: h.round,
    prevHash: h.prevHash,
    proposer: h.proposer,
    time: h.time,
    stateHash: h.stateHash,
    entries: b.block.entries.map((e) => entryView(statusOf(e))),
    commit: commitView(b.commit),
    lastCommit: b.block.lastCommit === null ? null : commitView(b.block.lastCommit),
  }
}

export function blockSummary(block: Block, hash: string, round: number): BlockSummary {
  const h = block.header
  return {
    height: h.height,
    hash,
    round,
    proposer: h.proposer,
    time: h.time,
    entries: block.entries.length,
  }
}

export function statusView(s: NodeStatus): StatusView {
  return {
    ...s,
    shortId: shortNodeId(s.nodeId),
    assets: s.assets.map((a) => ({ code: a.code, decimals: a.decimals })),
  }
}

export function peerView(p: PeerInfo): PeerView {
  return {
    id: p.id,
    shortId: shortNodeId(p.id),
    name: p.name,
    self: p.self,
    member: p.member,
    connected: p.connected,
    since: p.since,
    latencyMs: p.latencyMs,
    lastMessage: p.lastMessage,
    height: p.height,
    votedShare: p.votedShare,
    recentVotes: [...p.recentVotes],
    addrs: [...p.addrs],
    score: p.score,
  }
}

function mark(v: string | null | undefined): VoteMark {
  return v === undefined ? null : v === null ? 'nil' : 'block'
}

export function roundsView(r: RoundsInfo): RoundsView {
  return {
    height: r.height,
    round: r.round,
    step: r.step,
    proposer: r.proposer,
    votes: r.votes.map((v) => ({
      validator: v.validator,
      prevote: mark(v.prevote),
      precommit: mark(v.precommit),
      prevoteFor: v.prevote ?? null,
      precommitFor: v.precommit ?? null,
    })),
    recent: r.recent.map((x) => ({ ...x, failed: x.failed.map(failedRoundView) })),
    failed: r.failed.map(failedRoundView),
  }
}

function failedRoundView(f: FailedRoundInfo): FailedRound {
  return {
    round: f.round,
    step: f.step,
    stalled: f.stalled,
    proposer: f.proposer,
    reason: f.reason,
  }
}

/** What settings are shown of: a node, or the lobby of a machine without a ledger. */
export interface SettingsSource {
  readonly dataDir: string
  readonly effectiveSettings: NodeSettings
  addrs(): string[]
}

/** `apiPort` is the port the API serving the view listens on (the setting may be 0, any free one). */
export function settingsView(src: SettingsSource, apiPort: number): SettingsView {
  const s = src.effectiveSettings
  const t = s.timing
  return {
    name: s.name,
    dataDir: src.dataDir,
    listen: [...s.listen],
    addrs: src.addrs(),
    peers: [...s.peers],
    apiPort,
    mdns: s.mdns,
    timing: {
      proposeMs: t.proposeMs,
      prevoteMs: t.prevoteMs,
      precommitMs: t.precommitMs,
      roundDeltaMs: t.roundDeltaMs,
      capMs: t.capMs,
      idleMs: t.idleMs,
      rebroadcastMs: t.rebroadcastMs,
      relayMs: t.relayMs,
      batchMs: t.batchMs,
      syncRetryMs: t.syncRetryMs,
    },
    pingIntervalMs: s.pingIntervalMs,
    pingTimeoutMs: s.pingTimeoutMs,
  }
}

export function balancesView(node: TallyNode): BalanceView[] {
  const state = node.state
  return state.balances().map((b) => ({
    account: b.account,
    asset: b.asset,
    amount: b.amount.toString(),
    decimals: state.decimals(b.asset),
  }))
}

/** Null for events a client cannot use (a peer that is gone from the list). */
export function eventMessage(node: TallyNode, e: NodeEventData): EventMessage | null {
  switch (e.type) {
    case 'entry':
      return { type: 'entry', entry: entryView(e.entry) }
    case 'block':
      return { type: 'block', block: blockSummary(e.block, e.hash, e.round) }
    case 'round':
      return { type: 'round', height: e.height, round: e.round, step: e.step, proposer: e.proposer }
    case 'peer': {
      const p = node.peers().find((x) => x.id === e.id)
      return p === undefined ? null : { type: 'peer', peer: peerView(p) }
    }
    case 'join-requests':
      return null // the server lists them: the views of joining live with its routes
  }
}
