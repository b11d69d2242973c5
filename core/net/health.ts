/**
 * What the node shows about each peer: every configured peer stays listed, so the UI can show a
 * machine that is down, not just the ones that are up. Peers that merely connected once are
 * listed too, but any machine can connect under a new key each time: past MAX_PEERS the
 * disconnected one heard from longest ago is forgotten (configured ones never are).
 */
import type { NodeId } from '../ledger/types.ts'

export interface PeerHealth {
  readonly id: NodeId
  readonly connected: boolean
  /** ms epoch when it last connected or disconnected. */
  readonly since: number | null
  /** Last ping round trip. */
  readonly latencyMs: number | null
  /** ms epoch of the last accepted gossip or direct frame from it. */
  readonly lastMessage: number | null
  /** Newest first. */
  readonly addrs: readonly string[]
  /** Gossipsub score: negative means it sent what our validators rejected, or was penalised. */
  readonly score: number
}

/** A peer announcing more addresses than this is either misconfigured or hostile. */
export const MAX_ADDRS = 16
/** Longer than any address a TCP peer has (an IPv6 one with its /p2p/ suffix is about 110). */
export const MAX_ADDR_CHARS = 256
/** Far above a ledger's members (at most 256) and the connections libp2p keeps (300). */
export const MAX_PEERS = 1024

interface Record {
  /** Configured (a static peer, or dialled on request): never forgotten. */
  pinned: boolean
  connected: boolean
  since: number | null
  latencyMs: number | null
  lastMessage: number | null
  addrs: Set<string>
}

export class PeerBook {
  readonly #peers = new Map<NodeId, Record>()

  readonly #maxPeers: number

  constructor(maxPeers = MAX_PEERS) {
    this.#maxPeers = maxPeers
  }

  #get(id: NodeId): Record {
    let rec = this.#peers.get(id)
    if (!rec) {
      rec = {
        pinned: false,
        connected: false,
        since: null,
        latencyMs: null,
        lastMessage: null,
        addrs: new Set(),
      }
      this.#peers.set(id, rec)
      if (this.#peers.size > this.#maxPeers) this.#forgetOne(id)
    }
    return rec
  }

  /**
   * Adds addresses the peer was reached at or announced; the newest are kept. `pinned` marks a
   * configured peer, which stays listed however many others come and go.
   */
  known(id: NodeId, addrs: readonly string[] = [], pinned = false): void {
    const rec = this.#get(id)
    if (pinned) rec.pinned = true
    for (const addr of addrs) {
      if (addr.length > MAX_ADDR_CHARS) continue
      // Re-added at the end: a Set keeps insertion order, so the oldest address comes first.
      rec.addrs.delete(addr)
      rec.addrs.add(addr)
      if (rec.addrs.size > MAX_ADDRS) rec.addrs.delete(rec.addrs.values().next().value!)
    }
  }

  /** Peers listed now; at most MAX_PEERS plus the configured ones. */
  get size(): number {
    return this.#peers.size
  }

  connected(id: NodeId, now: number): void {
    const rec = this.#get(id)
    rec.connected = true
    rec.since = now
  }

  disconnected(id: NodeId, now: number): void {
    const rec = this.#get(id)
    rec.connected = false
    rec.since = now
    rec.latencyMs = null
  }

  message(id: NodeId, now: number): void {
    const rec = this.#peers.get(id)
    if (rec) rec.lastMessage = now
  }

  latency(id: NodeId, ms: number): void {
    const rec = this.#peers.get(id)
    if (rec?.connected) rec.latencyMs = ms
  }

  snapshot(score: (id: NodeId) => number): PeerHealth[] {
    return [...this.#peers].map(([id, rec]) => ({
      id,
      connected: rec.connected,
      since: rec.since,
      latencyMs: rec.latencyMs,
      lastMessage: rec.lastMessage,
      addrs: [...rec.addrs].reverse(),
      score: score(id),
    }))
  }

  /**
   * Forgets the disconnected, unpinned peer last heard from longest ago (never `keep`, the one
   * being added). If every other peer is connected or pinned, the book stays over the bound:
   * libp2p's connection limit and the configuration bound those.
   */
  #forgetOne(keep: NodeId): void {
    let victim: NodeId | null = null
    let oldest = Number.POSITIVE_INFINITY
    for (const [id, rec] of this.#peers) {
      if (id === keep || rec.pinned || rec.connected) continue
      const heard = Math.max(rec.since ?? 0, rec.lastMessage ?? 0)
      if (heard < oldest) {
        oldest = heard
        victim = id
      }
    }
    if (victim !== null) this.#peers.delete(victim)
  }
}
