/**
 * Framing for the direct protocol: a 4-byte big-endian length, then that many bytes. The decoder
 * refuses a frame as soon as its header announces more than the bound, before buffering any of
 * it, so a hostile length cannot make the receiver allocate.
 */

export const FRAME_HEADER_BYTES = 4

export class FrameTooLargeError extends Error {
  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super(`frame of ${length} bytes exceeds the limit of ${limit}`)
    this.name = 'FrameTooLargeError'
  }
}

export function frameHeader(length: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES)
  new DataView(header.buffer).setUint32(0, length, false)
  return header
}

export class FrameDecoder {
  readonly #limit: number
  #chunks: Uint8Array[] = []
  #buffered = 0
  /** Body length of the frame being read, once its header is in. */
  #body: number | null = null

  constructor(limit: number) {
    this.#limit = limit
  }

  /** The frames this chunk completes, in order. Throws FrameTooLargeError on an oversized header. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk)
      this.#buffered += chunk.length
    }
    const frames: Uint8Array[] = []
    for (;;) {
      if (this.#body === null) {
        if (this.#buffered < FRAME_HEADER_BYTES) break
        const header = this.#take(FRAME_HEADER_BYTES)
        const length = new DataView(header.buffer, header.byteOffset, 4).getUint32(0, false)
        if (length > this.#limit) throw new FrameTooLargeError(length, this.#limit)
        this.#body = length
      }
      if (this.#buffered < this.#body) break
      frames.push(this.#take(this.#body))
      this.#body = null
    }
    return frames
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#buffered
  }

  /**
   * Always a fresh copy: callers keep frames (blocks, votes), and a view would pin the whole
   * network chunk it came from.
   */
  #take(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const head = this.#chunks[0]!
      const want = n - filled
      if (head.length <= want) {
        out.set(head, filled)
        filled += head.length
        this.#chunks.shift()
      } else {
        out.set(head.subarray(0, want), filled)
        this.#chunks[0] = head.subarray(want)
        filled += want
      }
    }
    this.#buffered -= n
    return out
  }
}
