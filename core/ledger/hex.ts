/**
 * Hex conversion for ids, hashes and keys. Parsing is strict: a lenient parser would let two
 * spellings of one id through, and ids key maps.
 */
import { Buffer } from 'node:buffer'

const HEX = /^[0-9a-f]*$/

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Parses lowercase hex; uppercase is refused because ids are compared as strings. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new Error(`hex string has odd length ${hex.length}`)
  if (!HEX.test(hex)) throw new Error('hex string has characters other than 0-9 and a-f')
  // A plain Uint8Array, not a Buffer: Buffers compare unequal to Uint8Arrays in deepStrictEqual.
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

/** The first 8 hex characters: enough to tell ids apart in a message. */
export function shortId(id: string): string {
  return id.slice(0, 8)
}
