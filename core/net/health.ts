/**
 * What the node shows about each peer: every peer ever configured or connected stays listed, so
 * the UI can show a machine that is down, not just the ones that are up.
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
  readonly addrs: readonly string[]
  /** Gossipsub score: negative means it sent what our validators rejected, or was penalised. */
  readonly score: number
}

/** A peer announcing more addresses than this is either misconfigured or hostile. */
const MAX_ADDRS = 16

interface Record {
  connected: boolean
  since: number | null
  latencyMs: number | null
  lastMessage: number | null
  addrs: Set<string>
}

export class PeerBook {
  readonly #peers = new Map<NodeId, Record>()

  #get(id: NodeId): Record {
    let rec = this.#peers.get(id)
    if (!rec) {
      rec = { connected: false, since: null, latencyMs: null, lastMessage: null, addrs: new Set() }
      this.#peers.set(id, rec)
    }
    return rec
  }

  known(id: NodeId, addrs: readonly string[] = []): void {
    const rec = this.#get(id)
    for (const addr of addrs) {
      if (rec.addrs.size >= MAX_ADDRS) break
      rec.addrs.add(addr)
    }
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
      addrs: [...rec.addrs],
      score: score(id),
    }))
  }
}
