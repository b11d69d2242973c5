/**
 * Byte inputs for decoders: pure noise, and valid encodings damaged the ways that find bugs in
 * length-prefixed formats (bit flips, truncation, extension, splicing two encodings, a count or
 * length field set to a huge or off-by-one value). Mutations are plain data, so fast-check
 * shrinks a failing input to the fewest, smallest changes.
 */
import fc from 'fast-check'
import { ENTRY_BATCH, SYNC_BATCH } from '../../core/consensus/messages.ts'
import { LIMITS } from '../../core/ledger/limits.ts'

/** Counts and lengths where a bounds check can be off by one, and values no buffer can hold. */
const INTERESTING_U32 = [
  0,
  1,
  2,
  3,
  0x7f,
  0x80,
  0xff,
  0x100,
  0xffff,
  0x1_0000,
  0x1_0001,
  0x7fff_ffff,
  0x8000_0000,
  0xffff_fffe,
  0xffff_ffff,
  LIMITS.validators,
  LIMITS.validators + 1,
  LIMITS.entriesPerBlock,
  LIMITS.entriesPerBlock + 1,
  LIMITS.blockBytes,
  LIMITS.blockBytes + 1,
  ENTRY_BATCH + 1,
  SYNC_BATCH + 1,
]

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly byte: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'extend'; readonly bytes: Uint8Array }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number }
  /** Overwrites what looks like a count or length field (a small u32) with an interesting one. */
  | { readonly kind: 'length'; readonly pick: number; readonly value: number }
  | { readonly kind: 'u64'; readonly at: number; readonly value: bigint }
  /** The head of this input joined to the tail of another valid encoding. */
  | {
      readonly kind: 'splice'
      readonly at: number
      readonly other: Uint8Array
      readonly from: number
    }

const position = fc.nat({ max: 0xffff_ffff })
const someBytes = fc.uint8Array({ minLength: 1, maxLength: 16 })

function mutation(others: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Mutation> {
  return fc.oneof(
    {
      arbitrary: fc.record({ kind: fc.constant('flip'), at: position, bit: fc.nat(7) }),
      weight: 3,
    },
    {
      arbitrary: fc.record({ kind: fc.constant('set'), at: position, byte: fc.nat(255) }),
      weight: 2,
    },
    { arbitrary: fc.record({ kind: fc.constant('truncate'), at: position }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('extend'), bytes: someBytes }), weight: 1 },
    {
      arbitrary: fc.record({ kind: fc.constant('insert'), at: position, bytes: someBytes }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('delete'),
        at: position,
        length: fc.integer({ min: 1, max: 64 }),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('duplicate'),
        at: position,
        length: fc.integer({ min: 1, max: 256 }),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('length'),
        pick: position,
        value: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.nat({ max: 0xffff_ffff })),
      }),
      weight: 4,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('u64'),
        at: position,
        value: fc.constantFrom(
          0n,
          1n,
          2n ** 53n - 1n,
          2n ** 53n,
          2n ** 63n - 1n,
          2n ** 63n,
          2n ** 64n - 1n,
        ),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('splice'),
        at: position,
        other: others,
        from: position,
      }),
      weight: 1,
    },
  )
}

/** Valid encodings with one to four mutations applied; `others` feed the splices. */
export function mutated(valid: fc.Arbitrary<Uint8Array>, others = valid): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, fc.array(mutation(others), { minLength: 1, maxLength: 4 }))
    .map(([bytes, ms]) => ms.reduce(apply, bytes))
}

/** Noise: short and long, and noise behind a first byte a decoder will accept as a tag. */
export function noise(firstBytes: readonly number[] = []): fc.Arbitrary<Uint8Array> {
  const plain = fc.uint8Array({ maxLength: 600 })
  if (firstBytes.length === 0) return plain
  return fc.oneof(
    plain,
    fc
      .tuple(fc.constantFrom(...firstBytes), plain)
      .map(([b, rest]) => concat(Uint8Array.of(b), rest)),
  )
}

/** Bytes for a decoder, and whether they are a valid encoding as drawn, untouched. */
export interface ByteInput {
  readonly bytes: Uint8Array
  readonly valid: boolean
}

/**
 * Noise and mutations of valid encodings, in the proportion that finds the most, and valid
 * encodings as they are: the accepting paths must be fuzzed too, and a valid encoding refused is
 * as much a bug as a crash (a node that cannot read back what it wrote).
 */
export function bytesFor(
  valid: fc.Arbitrary<Uint8Array>,
  firstBytes: readonly number[] = [],
): fc.Arbitrary<ByteInput> {
  const damaged = (bytes: Uint8Array): ByteInput => ({ bytes, valid: false })
  return fc.oneof(
    { arbitrary: noise(firstBytes).map(damaged), weight: 1 },
    { arbitrary: mutated(valid).map(damaged), weight: 5 },
    { arbitrary: valid.map((bytes): ByteInput => ({ bytes, valid: true })), weight: 1 },
  )
}

function apply(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length
  const at = (p: number) => (n === 0 ? 0 : p % (n + 1))
  switch (m.kind) {
    case 'flip': {
      if (n === 0) return bytes
      const out = bytes.slice()
      const i = m.at % n
      out[i] = out[i]! ^ (1 << m.bit)
      return out
    }
    case 'set': {
      if (n === 0) return bytes
      const out = bytes.slice()
      out[m.at % n] = m.byte
      return out
    }
    case 'truncate':
      return bytes.slice(0, at(m.at))
    case 'extend':
      return concat(bytes, m.bytes)
    case 'insert': {
      const i = at(m.at)
      return concat(bytes.subarray(0, i), m.bytes, bytes.subarray(i))
    }
    case 'delete': {
      const i = at(m.at)
      return concat(bytes.subarray(0, i), bytes.subarray(i + m.length))
    }
    case 'duplicate': {
      const i = at(m.at)
      const piece = bytes.subarray(i, i + m.length)
      return concat(bytes.subarray(0, i + piece.length), piece, bytes.subarray(i + piece.length))
    }
    case 'length':
      return setLengthField(bytes, m.pick, m.value)
    case 'u64': {
      if (n < 8) return bytes
      const out = bytes.slice()
      new DataView(out.buffer).setBigUint64(m.at % (n - 7), m.value)
      return out
    }
    case 'splice':
      return concat(
        bytes.subarray(0, at(m.at)),
        m.other.subarray(m.other.length === 0 ? 0 : m.from % m.other.length),
      )
  }
}

/**
 * Length and count fields are u32s whose value fits in the bytes after them; random positions
 * rarely hit one, so pick among the positions that could be one.
 */
function setLengthField(bytes: Uint8Array, pick: number, value: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const candidates: number[] = []
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (view.getUint32(i) <= bytes.length - i - 4) candidates.push(i)
  }
  if (candidates.length === 0) return bytes
  const out = bytes.slice()
  new DataView(out.buffer).setUint32(candidates[pick % candidates.length]!, value >>> 0)
  return out
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** Short hex for crash reports: the whole input when small, its ends otherwise. */
export function showBytes(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
  if (hex.length <= 400) return `${bytes.length} bytes: ${hex}`
  return `${bytes.length} bytes: ${hex.slice(0, 200)}…${hex.slice(-200)}`
}
