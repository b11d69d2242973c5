/**
 * Static peers are dialled at start and redialled whenever they are not connected, forever: an
 * office machine that was switched off for the weekend must come back by itself. libp2p's own
 * KEEP_ALIVE reconnect is not used: it gives up after a few tries and drops the tag, and until
 * then it redials at once after every disconnect, with no backoff at all.
 */
import type { NodeId } from '../ledger/types.ts'

export interface RedialOptions {
  readonly dial: (id: NodeId, addrs: readonly string[]) => Promise<void>
  readonly isConnected: (id: NodeId) => boolean
  /** ms the peer may not be dialled for (isolated or banned); 0 if it may. */
  readonly blockedFor: (id: NodeId) => number
  readonly log: (message: string) => void
}

export const REDIAL = {
  firstMs: 1000,
  factor: 1.5,
  maxMs: 5000,
  /**
   * A connection that lasted less than this does not reset the backoff: a peer that accepts the
   * handshake and then refuses us (banned, isolated) would otherwise be redialled every second.
   */
  stableMs: 3000,
  /** ±10 %, so that peers that lost each other at the same moment do not dial in lockstep. */
  jitter: 0.1,
} as const

const MAX_ADDRS = 16

interface Target {
  addrs: string[]
  attempt: number
  timer: NodeJS.Timeout | null
  dialling: boolean
}

export class Redialer {
  readonly #opts: RedialOptions
  readonly #targets = new Map<NodeId, Target>()
  #stopped = false

  constructor(opts: RedialOptions) {
    this.#opts = opts
  }

  has(id: NodeId): boolean {
    return this.#targets.has(id)
  }

  /** Remembers the peer (adding the address) and dials it now unless it is connected. */
  add(id: NodeId, addr: string): void {
    this.#schedule(id, this.#remember(id, addr), 0)
  }

  /**
   * Remembers the peer for redial without dialling it now (the caller is dialling, or the
   * address was learned from identify or mDNS). The address becomes the newest.
   */
  remember(id: NodeId, addr: string): void {
    this.#remember(id, addr)
  }

  /** The peers being redialled. */
  ids(): NodeId[] {
    return [...this.#targets.keys()]
  }

  /** Stops redialling the peer (no longer a member). */
  forget(id: NodeId): void {
    const target = this.#targets.get(id)
    if (target?.timer) clearTimeout(target.timer)
    this.#targets.delete(id)
  }

  /**
   * Newest first, at most MAX_ADDRS: a machine that moved (a new port, a new DHCP lease) is
   * reached at where it is now, and its old addresses age out instead of piling up.
   */
  #remember(id: NodeId, addr: string): Target {
    let target = this.#targets.get(id)
    if (!target) {
      target = { addrs: [], attempt: 0, timer: null, dialling: false }
      this.#targets.set(id, target)
    }
    target.addrs = [addr, ...target.addrs.filter((a) => a !== addr)].slice(0, MAX_ADDRS)
    return target
  }

  /** The peer disconnected after a connection that lasted `lastedMs`. */
  lost(id: NodeId, lastedMs: number): void {
    const target = this.#targets.get(id)
    if (!target) return
    if (lastedMs >= REDIAL.stableMs) target.attempt = 0
    this.#schedule(id, target, this.#backoff(target))
  }

  /** Dial every remembered peer that is not connected, now (after a heal). */
  kickAll(): void {
    for (const [id, target] of this.#targets) {
      target.attempt = 0
      this.#schedule(id, target, 0)
    }
  }

  stop(): void {
    this.#stopped = true
    for (const target of this.#targets.values()) {
      if (target.timer) clearTimeout(target.timer)
      target.timer = null
    }
  }

  /** 1 s, 1.5 s, 2.25 s … up to 5 s, with jitter; each call moves one step along. */
  #backoff(target: Target): number {
    const base = Math.min(REDIAL.maxMs, REDIAL.firstMs * REDIAL.factor ** target.attempt)
    target.attempt++
    return base * (1 + REDIAL.jitter * (2 * Math.random() - 1))
  }

  #schedule(id: NodeId, target: Target, delayMs: number): void {
    if (this.#stopped) return
    if (target.timer) clearTimeout(target.timer)
    target.timer = setTimeout(() => {
      target.timer = null
      void this.#attempt(id, target)
    }, delayMs)
    // The timers must never be what keeps a process alive; stop() clears them anyway.
    target.timer.unref()
  }

  async #attempt(id: NodeId, target: Target): Promise<void> {
    if (this.#stopped || target.dialling || this.#opts.isConnected(id)) return
    const blocked = this.#opts.blockedFor(id)
    if (blocked > 0) {
      this.#schedule(id, target, Math.min(blocked, REDIAL.maxMs))
      return
    }
    target.dialling = true
    try {
      await this.#opts.dial(id, target.addrs)
    } catch (err) {
      const delay = this.#backoff(target)
      this.#opts.log(
        `redial ${id.slice(0, 8)} failed (${String(err)}); next in ${Math.round(delay)} ms`,
      )
      this.#schedule(id, target, delay)
    } finally {
      target.dialling = false
    }
    // A dial can succeed and the connection drop before `lost` is seen; check again later.
    if (!this.#stopped && !target.timer && !this.#opts.isConnected(id)) {
      this.#schedule(id, target, this.#backoff(target))
    }
  }
}
