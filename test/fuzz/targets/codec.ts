/**
 * A target for a binary decoder with an encoder: it must reject with DecodeError or accept, and
 * what it accepts must be within bounds and re-encode to the very bytes it came from (the
 * encoding is canonical: one byte string per value, which hashes and signatures rely on).
 */
import type fc from 'fast-check'
import { DecodeError } from '../../../core/ledger/codec.ts'
import { allocationBounded } from '../bounds.ts'
import { ACCEPTED, Broken, type FuzzTarget, rejected, target, type Verdict } from '../engine.ts'
import { type ByteInput, bytesFor, showBytes } from '../mutations.ts'

export interface Codec<T> {
  readonly decode: (bytes: Uint8Array) => T
  readonly encode: (value: T) => Uint8Array
  /** Bounds and rules a decoded value must satisfy; throws Broken when one does not. */
  readonly check: (value: T) => void
}

/**
 * Decodes `bytes`: the value, or the rejection (`refusal`, the decoder's own error class). Any
 * other exception is let through (a crash).
 */
export function decodeOrReject<T>(
  decode: (bytes: Uint8Array) => T,
  bytes: Uint8Array,
  refusal: abstract new (...args: never[]) => Error = DecodeError,
): { value: T } | Verdict {
  try {
    return { value: allocationBounded(bytes.length, () => decode(bytes)) }
  } catch (error) {
    if (error instanceof refusal) return rejected(error.message)
    throw error
  }
}

export function runCodec<T>(codec: Codec<T>, { bytes, valid }: ByteInput): Verdict {
  const decoded = decodeOrReject(codec.decode, bytes)
  if (!('value' in decoded)) return refusedIfDamaged(decoded, valid)
  codec.check(decoded.value)
  const again = codec.encode(decoded.value)
  if (!sameBytes(again, bytes)) {
    throw new Broken(`accepted input re-encodes to other bytes: ${showBytes(again)}`)
  }
  return ACCEPTED
}

/** A rejection, unless the input was a valid encoding: refusing one of those is a bug. */
export function refusedIfDamaged(verdict: Verdict, valid: boolean): Verdict {
  if (valid && !verdict.accepted) throw new Broken(`a valid encoding is refused: ${verdict.reason}`)
  return verdict
}

export function codecTarget<T>(spec: {
  readonly name: string
  readonly weight: number
  readonly codec: Codec<T>
  readonly valid: fc.Arbitrary<T>
  /** First bytes the decoder accepts as a tag or version, so noise gets past the first check. */
  readonly firstBytes?: readonly number[]
}): FuzzTarget {
  return target({
    name: spec.name,
    weight: spec.weight,
    inputs: bytesFor(spec.valid.map(spec.codec.encode), spec.firstBytes),
    run: (input) => runCodec(spec.codec, input),
    show: showInput,
  })
}

export function showInput(input: ByteInput): string {
  return `${input.valid ? 'valid' : 'damaged'}, ${showBytes(input.bytes)}`
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0
}
