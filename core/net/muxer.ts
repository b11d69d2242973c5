/**
 * yamux, bounded. Two things in @chainsafe/libp2p-yamux 8 let one peer make us hold memory
 * without limit:
 *
 * - Its frame decoder buffers a data frame whole before checking it against the stream's
 *   receive window, and a frame header may declare up to 4 GiB: a peer that announces a huge
 *   frame and keeps sending is buffered until we run out of memory. An honest sender never sends
 *   a data frame larger than the window we granted, which is at most `maxStreamWindowSize`, so a
 *   guard in front of the decoder reads each header and aborts the connection on a larger one.
 * - It accepts 1,000 inbound streams per connection, each of which may buffer a few MiB while
 *   its protocol is negotiated. A Tally peer opens a handful (identify, ping, gossip, direct).
 *
 * Windows are acknowledged as data arrives (libp2p 3 streams have no read backpressure), so the
 * window bounds what is in flight, not what the application holds: that is bounded per protocol
 * (see direct.ts and gossip.ts).
 */
import './polyfill.ts'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { MessageStream, StreamMessageEvent, StreamMuxerFactory } from '@libp2p/interface'

/** yamux's frame header: version, type, flags (2), stream id (4), length (4). */
const HEADER_BYTES = 12
const TYPE_DATA = 0

export class OversizedMuxerFrameError extends Error {
  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super(`a yamux data frame of ${length} bytes exceeds the ${limit}-byte stream window`)
    this.name = 'OversizedMuxerFrameError'
  }
}

/**
 * Follows the frame boundaries of one connection's inbound bytes, holding at most a partial
 * header, and throws on a data frame longer than `limit`. It only reads: yamux itself decodes.
 */
export class MuxerFrameGuard {
  readonly #limit: number
  readonly #header = new Uint8Array(HEADER_BYTES)
  #headerBytes = 0
  /** Body bytes of the current data frame still to come. */
  #body = 0

  constructor(limit: number) {
    this.#limit = limit
  }

  push(chunk: Uint8Array): void {
    let at = 0
    while (at < chunk.length) {
      if (this.#body > 0) {
        const skip = Math.min(this.#body, chunk.length - at)
        this.#body -= skip
        at += skip
        continue
      }
      const take = Math.min(HEADER_BYTES - this.#headerBytes, chunk.length - at)
      this.#header.set(chunk.subarray(at, at + take), this.#headerBytes)
      this.#headerBytes += take
      at += take
      if (this.#headerBytes < HEADER_BYTES) return
      this.#headerBytes = 0
      // Other frame types carry a window delta, ping id or reason in the length, and no body.
      if (this.#header[1] !== TYPE_DATA) continue
      const length = new DataView(this.#header.buffer).getUint32(8, false)
      if (length > this.#limit) throw new OversizedMuxerFrameError(length, this.#limit)
      this.#body = length
    }
  }
}

export interface MuxerLimits {
  /** The largest receive window we grant a stream, and so the largest data frame we accept. */
  readonly maxStreamWindowBytes: number
  /** Streams the remote may have open on one connection at once. */
  readonly maxInboundStreams: number
}

/** yamux with the limits above, its connections guarded against oversized frames. */
export function boundedYamux(limits: MuxerLimits): () => StreamMuxerFactory {
  const make = yamux({
    maxInboundStreams: limits.maxInboundStreams,
    streamOptions: { maxStreamWindowSize: limits.maxStreamWindowBytes },
  })
  return () => {
    const factory = make()
    const createStreamMuxer = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = (maConn: MessageStream) => {
      guard(maConn, limits.maxStreamWindowBytes)
      return createStreamMuxer(maConn)
    }
    return factory
  }
}

/**
 * Listens before the muxer does (listeners run in the order they were added), so an oversized
 * header stops its event before yamux buffers a byte of the frame. The abort's error reaches
 * the connection's `close` event, where the host penalises the peer.
 */
function guard(maConn: MessageStream, limit: number): void {
  const frames = new MuxerFrameGuard(limit)
  maConn.addEventListener('message', (event: StreamMessageEvent) => {
    try {
      const data = event.data
      if (data instanceof Uint8Array) frames.push(data)
      else for (const chunk of data) frames.push(chunk)
    } catch (err) {
      event.stopImmediatePropagation()
      maConn.abort(err instanceof Error ? err : new Error(String(err)))
    }
  })
}
