/**
 * The direct protocol: point-to-point frames (block sync, catch-up, resends) on one long-lived
 * outbound stream per peer. Frames on one stream arrive in order; a frame lost with a failed
 * stream is not retried here, because the node already re-requests what it still needs.
 *
 * Inbound, a peer gets what an honest one needs and no more: one incomplete frame held at a time
 * (across all its streams and connections; see budget.ts), and frames at a rate no honest peer
 * reaches (it has at most one sync request out to us at a time). A stream that goes past either
 * is aborted and the peer is reported.
 */
import './polyfill.ts'
import type { Connection, PeerId, Stream, StreamMessageEvent } from '@libp2p/interface'
import type { BudgetPolicy } from './budget.ts'
import { ByteBudget } from './budget.ts'
import { FRAME_HEADER_BYTES, FrameDecoder, FrameTooLargeError, frameHeader } from './frames.ts'
import type { RatePolicy } from './rate-limit.ts'
import { RateLimiter } from './rate-limit.ts'

export interface DirectOptions {
  readonly protocol: string
  readonly maxFrameBytes: number
  /** Bytes a peer may have queued (unsent) before its stream is dropped rather than grown. */
  readonly maxQueueBytes: number
  /** Bytes of incomplete inbound frames one peer, and all peers, may make us hold. */
  readonly inboundBytes: BudgetPolicy
  /** Inbound frames per peer. */
  readonly inboundFrames: RatePolicy
  readonly connectionTo: (peer: PeerId) => Connection | undefined
  readonly onFrame: (data: Uint8Array, from: PeerId) => void
  /** The peer sent what no honest peer sends; its stream has been aborted. */
  readonly onAbuse: (from: PeerId, reason: string) => void
  readonly log: (message: string) => void
}

/** While the stream is being negotiated, frames wait here; the bound applies to them too. */
interface Outbound {
  stream: Stream | null
  pending: Uint8Array[]
  pendingBytes: number
  abandoned: boolean
}

export class Direct {
  readonly #opts: DirectOptions
  readonly #outbound = new Map<string, Outbound>()
  readonly #inbound = new Set<Stream>()
  readonly #held: ByteBudget
  readonly #rate: RateLimiter

  constructor(opts: DirectOptions) {
    if (opts.inboundBytes.perPeer < opts.maxFrameBytes + FRAME_HEADER_BYTES) {
      throw new RangeError('the per-peer inbound budget must hold one frame of maxFrameBytes')
    }
    this.#opts = opts
    this.#held = new ByteBudget(opts.inboundBytes)
    this.#rate = new RateLimiter(opts.inboundFrames)
  }

  /** Queues one frame. False if the peer is not connected or its queue is over the bound. */
  send(peer: PeerId, data: Uint8Array): boolean {
    if (data.length > this.#opts.maxFrameBytes) {
      throw new RangeError(
        `direct frame of ${data.length} bytes exceeds maxMessageBytes ${this.#opts.maxFrameBytes}`,
      )
    }
    const key = peer.toString()
    let out = this.#outbound.get(key)
    if (out?.stream && !writable(out.stream)) {
      this.#outbound.delete(key)
      out = undefined
    }
    if (!out) {
      const connection = this.#opts.connectionTo(peer)
      if (!connection) return false
      out = this.#open(key, connection)
    }
    const header = frameHeader(data.length)
    const size = header.length + data.length
    // One write per frame: each write becomes a yamux frame and a noise message of its own.
    const frame = new Uint8Array(size)
    frame.set(header)
    frame.set(data, header.length)
    const queued = out.stream ? out.stream.writeBufferLength : out.pendingBytes
    if (queued + size > this.#opts.maxQueueBytes) {
      this.#opts.log(`direct: ${key} has ${queued} bytes queued; dropping its stream`)
      this.#discard(key, out, new Error('direct write queue over its bound'))
      return false
    }
    if (!out.stream) {
      out.pending.push(frame)
      out.pendingBytes += size
      return true
    }
    try {
      out.stream.send(frame)
      return true
    } catch (err) {
      this.#discard(key, out, asError(err))
      return false
    }
  }

  handleInbound(stream: Stream, connection: Connection): void {
    const from = connection.remotePeer
    const key = from.toString()
    const decoder = new FrameDecoder(this.#opts.maxFrameBytes)
    /** What this stream's incomplete frame counts against the peer's budget. */
    let held = 0
    const release = () => {
      this.#held.adjust(key, -held)
      held = 0
    }
    const refuse = (reason: string, abuse: boolean) => {
      release()
      stream.abort(new Error(reason))
      if (abuse) this.#opts.onAbuse(from, reason)
      else this.#opts.log(`direct: dropping a stream from ${key}: ${reason}`)
    }
    this.#inbound.add(stream)
    stream.addEventListener('message', (event: StreamMessageEvent) => {
      if (stream.status !== 'open') return
      let frames: Uint8Array[]
      try {
        frames = decoder.push(event.data.subarray())
      } catch (err) {
        refuse(asError(err).message, err instanceof FrameTooLargeError)
        return
      }
      const overrun = this.#held.adjust(key, decoder.buffered - held)
      if (overrun === 'peer') {
        refuse(`more than ${this.#opts.inboundBytes.perPeer} bytes of unfinished frames`, true)
        return
      }
      // Every peer together is over the bound: this one may be honest and will ask again.
      if (overrun === 'total') {
        refuse('all peers together hold too many unfinished frames', false)
        return
      }
      held = decoder.buffered
      const now = Date.now()
      for (const frame of frames) {
        if (!this.#rate.take(key, now)) {
          refuse(`over ${this.#opts.inboundFrames.ratePerSecond} frames a second`, true)
          return
        }
        this.#opts.onFrame(frame, from)
      }
    })
    stream.addEventListener('remoteCloseWrite', () => {
      stream.close().catch((err: unknown) => stream.abort(asError(err)))
    })
    stream.addEventListener(
      'close',
      () => {
        release()
        this.#inbound.delete(stream)
      },
      { once: true },
    )
  }

  /** Bytes of incomplete inbound frames held now, for all peers. */
  get held(): number {
    return this.#held.total
  }

  /** The peer's last connection closed: its stream went with it. */
  forget(peer: PeerId): void {
    const key = peer.toString()
    const out = this.#outbound.get(key)
    if (out) this.#discard(key, out, new Error('peer disconnected'))
  }

  close(): void {
    for (const [key, out] of this.#outbound) this.#discard(key, out, new Error('net stopped'))
    for (const stream of this.#inbound) stream.abort(new Error('net stopped'))
    this.#inbound.clear()
  }

  #open(key: string, connection: Connection): Outbound {
    const out: Outbound = { stream: null, pending: [], pendingBytes: 0, abandoned: false }
    this.#outbound.set(key, out)
    connection
      .newStream(this.#opts.protocol)
      .then((stream) => {
        if (out.abandoned) {
          stream.abort(new Error('direct stream no longer wanted'))
          return
        }
        out.stream = stream
        stream.addEventListener(
          'close',
          () => {
            if (this.#outbound.get(key) === out) this.#outbound.delete(key)
          },
          { once: true },
        )
        const pending = out.pending
        out.pending = []
        out.pendingBytes = 0
        for (const chunk of pending) stream.send(chunk)
      })
      .catch((err: unknown) => {
        this.#opts.log(`direct: stream to ${key} failed: ${asError(err).message}`)
        this.#discard(key, out, asError(err))
      })
    return out
  }

  #discard(key: string, out: Outbound, reason: Error): void {
    out.abandoned = true
    out.pending = []
    out.pendingBytes = 0
    out.stream?.abort(reason)
    if (this.#outbound.get(key) === out) this.#outbound.delete(key)
  }
}

function writable(stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable'
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
