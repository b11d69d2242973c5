/**
 * The primitive binary codec. Big-endian fixed-width integers and u32-length-prefixed bytes give
 * exactly one byte string per value, and the Reader refuses anything a Writer could not have
 * written (non-minimal booleans, invalid UTF-8, trailing bytes), which keeps decoding canonical.
 */
import { Buffer } from 'node:buffer'
import { toHex } from './hex.ts'
import { LONE_SURROGATE } from './limits.ts'
import type { Hash } from './types.ts'

export class DecodeError extends Error {
  override readonly name = 'DecodeError'
}

const HASH_HEX = /^[0-9a-f]{64}$/
const U64_MAX = 2n ** 64n - 1n
const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n
// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: keep a leading BOM, do not strip it.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export class Writer {
  // A Buffer for its fast hex and UTF-8 writes; finish() hands out a plain Uint8Array.
  #buf: Buffer
  #view: DataView
  #len = 0

  constructor(capacity = 256) {
    this.#buf = Buffer.allocUnsafe(capacity)
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength)
  }

  u8(v: number): this {
    checkInt(v, 0, 0xff, 'u8')
    this.#reserve(1)
    this.#view.setUint8(this.#len, v)
    this.#len += 1
    return this
  }

  u16(v: number): this {
    checkInt(v, 0, 0xffff, 'u16')
    this.#reserve(2)
    this.#view.setUint16(this.#len, v)
    this.#len += 2
    return this
  }

  u32(v: number): this {
    checkInt(v, 0, 0xffff_ffff, 'u32')
    this.#reserve(4)
    this.#view.setUint32(this.#len, v)
    this.#len += 4
    return this
  }

  i32(v: number): this {
    checkInt(v, -0x8000_0000, 0x7fff_ffff, 'i32')
    this.#reserve(4)
    this.#view.setInt32(this.#len, v)
    this.#len += 4
    return this
  }

  /** A non-negative safe integer (heights, times, nonces) in 8 bytes. */
  u53(v: number): this {
    checkInt(v, 0, Number.MAX_SAFE_INTEGER, 'u53')
    this.#reserve(8)
    this.#view.setUint32(this.#len, Math.floor(v / 2 ** 32))
    this.#view.setUint32(this.#len + 4, v >>> 0)
    this.#len += 8
    return this
  }

  u64(v: bigint): this {
    if (v < 0n || v > U64_MAX) throw new RangeError(`u64 out of range: ${v}`)
    this.#reserve(8)
    this.#view.setBigUint64(this.#len, v)
    this.#len += 8
    return this
  }

  i64(v: bigint): this {
    if (v < I64_MIN || v > I64_MAX) throw new RangeError(`i64 out of range: ${v}`)
    this.#reserve(8)
    this.#view.setBigInt64(this.#len, v)
    this.#len += 8
    return this
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0)
  }

  /** Bytes whose length the reader knows (keys, signatures, digests): no prefix. */
  fixed(bytes: Uint8Array): this {
    this.#reserve(bytes.length)
    this.#buf.set(bytes, this.#len)
    this.#len += bytes.length
    return this
  }

  bytes(bytes: Uint8Array): this {
    return this.u32(bytes.length).fixed(bytes)
  }

  /** A hash or node id: 64 lowercase hex characters, written as its 32 bytes. */
  hash(hex: Hash): this {
    if (!HASH_HEX.test(hex)) throw new RangeError(`not a 64-character lowercase hex hash: "${hex}"`)
    this.#reserve(32)
    this.#buf.write(hex, this.#len, 32, 'hex')
    this.#len += 32
    return this
  }

  string(s: string): this {
    if (LONE_SURROGATE.test(s)) throw new RangeError('string has an unpaired UTF-16 surrogate')
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.#reserve(4 + s.length * 3)
    const written = this.#buf.write(s, this.#len + 4, 'utf8')
    this.#view.setUint32(this.#len, written)
    this.#len += 4 + written
    return this
  }

  get length(): number {
    return this.#len
  }

  finish(): Uint8Array {
    return new Uint8Array(this.#buf.subarray(0, this.#len))
  }

  #reserve(n: number): void {
    const need = this.#len + n
    if (need <= this.#buf.length) return
    let size = this.#buf.length * 2
    while (size < need) size *= 2
    const next = Buffer.allocUnsafe(size)
    next.set(this.#buf.subarray(0, this.#len))
    this.#buf = next
    this.#view = new DataView(next.buffer, next.byteOffset, next.byteLength)
  }
}

function checkInt(v: number, min: number, max: number, kind: string): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new RangeError(`${kind} out of range: ${v}`)
  }
}

export class Reader {
  readonly #buf: Uint8Array
  readonly #view: DataView
  #pos = 0

  constructor(bytes: Uint8Array) {
    // A plain view, so that slices are plain Uint8Arrays even when given a Buffer.
    this.#buf = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get offset(): number {
    return this.#pos
  }

  get remaining(): number {
    return this.#buf.length - this.#pos
  }

  /** The bytes between two offsets, as a view (no copy): for hashing what was just read. */
  view(from: number, to: number): Uint8Array {
    return this.#buf.subarray(from, to)
  }

  u8(field: string): number {
    this.#need(1, field)
    const v = this.#view.getUint8(this.#pos)
    this.#pos += 1
    return v
  }

  u16(field: string): number {
    this.#need(2, field)
    const v = this.#view.getUint16(this.#pos)
    this.#pos += 2
    return v
  }

  u32(field: string): number {
    this.#need(4, field)
    const v = this.#view.getUint32(this.#pos)
    this.#pos += 4
    return v
  }

  i32(field: string): number {
    this.#need(4, field)
    const v = this.#view.getInt32(this.#pos)
    this.#pos += 4
    return v
  }

  u53(field: string): number {
    this.#need(8, field)
    const hi = this.#view.getUint32(this.#pos)
    const lo = this.#view.getUint32(this.#pos + 4)
    if (hi > 0x1f_ffff) {
      throw new DecodeError(`${field} exceeds the largest safe integer (2^53 - 1)`)
    }
    this.#pos += 8
    return hi * 2 ** 32 + lo
  }

  u64(field: string): bigint {
    this.#need(8, field)
    const v = this.#view.getBigUint64(this.#pos)
    this.#pos += 8
    return v
  }

  i64(field: string): bigint {
    this.#need(8, field)
    const v = this.#view.getBigInt64(this.#pos)
    this.#pos += 8
    return v
  }

  bool(field: string): boolean {
    const v = this.u8(field)
    if (v > 1) throw new DecodeError(`${field} is ${v}; a boolean is 0 or 1`)
    return v === 1
  }

  fixed(field: string, length: number): Uint8Array {
    this.#need(length, field)
    const v = this.#buf.slice(this.#pos, this.#pos + length)
    this.#pos += length
    return v
  }

  bytes(field: string, maxLength: number): Uint8Array {
    const length = this.u32(`${field} length`)
    if (length > maxLength) {
      throw new DecodeError(`${field} is ${length} bytes, at most ${maxLength}`)
    }
    return this.fixed(field, length)
  }

  hash(field: string): Hash {
    this.#need(32, field)
    const v = toHex(this.#buf.subarray(this.#pos, this.#pos + 32))
    this.#pos += 32
    return v
  }

  /** UTF-8 of at most `maxBytes` bytes; character limits are the caller's (see rules.ts). */
  string(field: string, maxBytes: number): string {
    const length = this.u32(`${field} length`)
    if (length > maxBytes) {
      throw new DecodeError(`${field} is ${length} bytes, at most ${maxBytes}`)
    }
    this.#need(length, field)
    let v: string
    try {
      v = decoder.decode(this.#buf.subarray(this.#pos, this.#pos + length))
    } catch {
      throw new DecodeError(`${field} is not valid UTF-8`)
    }
    this.#pos += length
    return v
  }

  /**
   * A list length, checked against its limit and against the bytes left (each item takes at least
   * `minItemBytes`) before the caller allocates anything.
   */
  count(field: string, max: number, minItemBytes: number): number {
    const n = this.u32(`${field} count`)
    if (n > max) throw new DecodeError(`${field} has ${n} items, at most ${max}`)
    if (n * minItemBytes > this.remaining) {
      throw new DecodeError(
        `${field} declares ${n} items but only ${this.remaining} bytes remain (input truncated)`,
      )
    }
    return n
  }

  end(what: string): void {
    const extra = this.remaining
    if (extra !== 0) {
      throw new DecodeError(`${extra} trailing byte${extra === 1 ? '' : 's'} after ${what}`)
    }
  }

  #need(n: number, field: string): void {
    if (this.#pos + n > this.#buf.length) {
      throw new DecodeError(`input truncated at byte ${this.#buf.length} reading ${field}`)
    }
  }
}
