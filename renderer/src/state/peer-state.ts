/**
 * A peer's state as the Peers screen names it, in the vocabulary people know from Syncthing:
 * a dot alone says nothing to someone who cannot tell green from red, and "offline" alone does
 * not say whether the machine was unplugged a minute ago or has never been seen at all.
 */
import type { PeerView } from '../../../core/api/types.ts'
import { ago, clockTime } from '../format.ts'

export type PeerStateKind = 'online' | 'syncing' | 'offline' | 'never'
export type Tone = 'ok' | 'warn' | 'bad' | 'idle'

export interface PeerState {
  readonly kind: PeerStateKind
  /** "online", "syncing 87%", "offline — last seen 12 s ago (14:03:22)", "never seen". */
  readonly label: string
  readonly tone: Tone
  /** How far a syncing machine has come, 0..99; null in any other state. */
  readonly percent: number | null
}

/**
 * A peer this many blocks behind is catching up rather than merely a vote late: consensus keeps
 * the others within a height or two of each other while they all take part.
 */
export const SYNC_LAG = 2

/** The share of `target` that `height` has reached, rounded down so 99.9% never shows as done. */
export function syncPercent(height: number, target: number): number {
  if (target <= 0) return 0
  return Math.min(99, Math.max(0, Math.floor((height / target) * 100)))
}

function syncing(percent: number): PeerState {
  return { kind: 'syncing', label: `syncing ${percent}%`, tone: 'warn', percent }
}

const ONLINE: PeerState = { kind: 'online', label: 'online', tone: 'ok', percent: null }

/**
 * `ourHeight` is this machine's last committed height. This machine is online by definition (it
 * answers), unless the peers it hears from report heights well ahead: then it is the one catching
 * up, and says so.
 */
export function peerState(
  peer: PeerView,
  ourHeight: number,
  now: number,
  peers: readonly PeerView[] = [],
): PeerState {
  if (peer.self) {
    let best = ourHeight
    for (const p of peers) {
      if (!p.self && p.connected && p.height !== null && p.height > best) best = p.height
    }
    return best - ourHeight > SYNC_LAG ? syncing(syncPercent(ourHeight, best)) : ONLINE
  }
  if (peer.connected) {
    if (peer.height !== null && ourHeight - peer.height > SYNC_LAG) {
      return syncing(syncPercent(peer.height, ourHeight))
    }
    return ONLINE
  }
  if (peer.since === null) {
    return { kind: 'never', label: 'never seen', tone: 'idle', percent: null }
  }
  return {
    kind: 'offline',
    label: `offline — last seen ${ago(peer.since, now)} (${clockTime(peer.since)})`,
    tone: 'bad',
    percent: null,
  }
}

export interface VoteSummary {
  readonly voted: number
  readonly total: number
  /** "voted 48 of the last 50 commits"; says why there is no bar when there is none. */
  readonly text: string
}

export function voteSummary(recentVotes: readonly boolean[]): VoteSummary {
  const total = recentVotes.length
  const voted = recentVotes.filter(Boolean).length
  if (total === 0) return { voted, total, text: 'no commits to count yet' }
  const last = total === 1 ? 'the last commit' : `the last ${total} commits`
  return { voted, total, text: `voted ${voted} of ${last}` }
}

/** The name people gave the machine, or its short id for a connected stranger without one. */
export function peerName(peer: Pick<PeerView, 'shortId' | 'name'>): string {
  return peer.name === '' ? peer.shortId : peer.name
}

export interface PeerGroups {
  /** This machine first, then the others by name. */
  readonly members: readonly PeerView[]
  /** Connected machines that are not members: joiners, or a member just removed. */
  readonly others: readonly PeerView[]
}

export function groupPeers(peers: readonly PeerView[]): PeerGroups {
  const byName = (a: PeerView, b: PeerView) =>
    Number(b.self) - Number(a.self) ||
    peerName(a).localeCompare(peerName(b)) ||
    a.id.localeCompare(b.id)
  return {
    members: peers.filter((p) => p.member).sort(byName),
    others: peers.filter((p) => !p.member && p.connected).sort(byName),
  }
}

/** "2 of 3 needed to commit": what the quorum size means, not just a number. */
export function quorumNeed(s: { readonly quorum: number; readonly members: number }): string {
  return `${s.quorum} of ${s.members} needed to commit`
}
