/**
 * What peers send: gossip messages (entries, proposals, votes), block-sync requests and answers,
 * and the direct protocol's frames with the messages inside them.
 */
import fc from 'fast-check'
import { decodeMessage, encodeMessage, type WireMessage } from '../../../core/consensus/messages.ts'
import {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameTooLargeError,
  frameHeader,
} from '../../../core/net/frames.ts'
import { allocationBounded, checkMessage, within } from '../bounds.ts'
import { ACCEPTED, Broken, type FuzzTarget, rejected, target, type Verdict } from '../engine.ts'
import { type ByteInput, concat, mutated, noise } from '../mutations.ts'
import { drawnOrReal, messageOf, messageValue, realValues } from '../values.ts'
import { type Codec, codecTarget, runCodec, showInput } from './codec.ts'

const messages: Codec<WireMessage> = {
  decode: decodeMessage,
  encode: encodeMessage,
  check: checkMessage,
}

const TAG = { entries: 0, proposal: 1, vote: 2, 'sync-request': 3, 'sync-response': 4 } as const

function ofTypes(types: readonly WireMessage['type'][]): fc.Arbitrary<WireMessage> {
  const wanted = (m: WireMessage) => types.includes(m.type)
  return drawnOrReal(messageOf(types), () => realValues().messages.filter(wanted))
}

/**
 * Small, so that frames over it are common; the real bound is the node's maxMessageBytes, and
 * the decoder's logic does not depend on its size.
 */
const FRAME_LIMIT = 64 * 1024

interface Stream {
  readonly frames: readonly { readonly body: ByteInput; readonly declared: number | null }[]
  /** Where the stream is cut into chunks, as positions taken modulo its length. */
  readonly cuts: readonly number[]
}

const damaged = (bytes: Uint8Array): ByteInput => ({ bytes, valid: false })
const frameBody: fc.Arbitrary<ByteInput> = fc.oneof(
  {
    arbitrary: ofTypes(['sync-request', 'sync-response', 'proposal', 'vote']).map(
      (m): ByteInput => ({ bytes: encodeMessage(m), valid: true }),
    ),
    weight: 3,
  },
  { arbitrary: mutated(messageValue.map(encodeMessage)).map(damaged), weight: 2 },
  { arbitrary: noise([3, 4]).map(damaged), weight: 1 },
)

/** Mostly the body's own length; sometimes a lie, small or huge. */
const declared = fc.oneof(
  { arbitrary: fc.constant(null), weight: 8 },
  {
    arbitrary: fc.constantFrom(0, 1, FRAME_LIMIT, FRAME_LIMIT + 1, 0x7fff_ffff, 0xffff_ffff),
    weight: 1,
  },
  { arbitrary: fc.nat({ max: 0xffff_ffff }), weight: 1 },
)

const streams: fc.Arbitrary<Stream> = fc.record({
  frames: fc.array(fc.record({ body: frameBody, declared }), { minLength: 1, maxLength: 5 }),
  cuts: fc.array(fc.nat({ max: 0xffff_ffff }), { maxLength: 8 }),
})

function chunksOf(s: Stream): Uint8Array[] {
  const bytes = concat(
    ...s.frames.flatMap((f) => [frameHeader(f.declared ?? f.body.bytes.length), f.body.bytes]),
  )
  const cuts = [...new Set(s.cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(from, cut))
    from = cut
  }
  return chunks
}

function runStream(s: Stream): Verdict {
  const decoder = new FrameDecoder(FRAME_LIMIT)
  const frames: Uint8Array[] = []
  try {
    for (const chunk of chunksOf(s)) {
      const held = decoder.buffered
      frames.push(...allocationBounded(held + chunk.length, () => decoder.push(chunk)))
      within(decoder.buffered < Math.max(FRAME_HEADER_BYTES, FRAME_LIMIT), 'bytes held for a frame')
    }
  } catch (error) {
    if (!(error instanceof FrameTooLargeError)) throw error
    within(error.length > FRAME_LIMIT, 'a frame refused although within the limit')
    return rejected(error.message)
  }
  const honest = s.frames.every((f) => f.declared === null)
  if (honest) {
    // Every frame comes out whole, in order, however the stream was cut.
    const sent = s.frames.map((f) => f.body.bytes)
    if (frames.length !== sent.length || frames.some((f, i) => Buffer.compare(f, sent[i]!) !== 0)) {
      throw new Broken(`${sent.length} frames sent, ${frames.length} came out or differ`)
    }
  }
  for (const [i, frame] of frames.entries()) {
    const valid = honest && s.frames[i]!.body.valid
    const verdict = runCodec(messages, { bytes: frame, valid })
    if (!verdict.accepted) return rejected(`message in a frame: ${verdict.reason}`)
  }
  return ACCEPTED
}

export const wireTargets: readonly FuzzTarget[] = [
  codecTarget({
    name: 'gossip message',
    weight: 15,
    codec: messages,
    valid: ofTypes(['entries', 'proposal', 'vote']),
    firstBytes: [TAG.entries, TAG.proposal, TAG.vote],
  }),
  codecTarget({
    name: 'sync request/answer',
    weight: 8,
    codec: messages,
    valid: ofTypes(['sync-request', 'sync-response']),
    firstBytes: [TAG['sync-request'], TAG['sync-response']],
  }),
  target({
    name: 'direct frames',
    weight: 6,
    inputs: streams,
    run: runStream,
    show: (s) => {
      const frames = s.frames.map(
        (f) => `declared ${f.declared ?? 'honestly'}: ${showInput(f.body)}`,
      )
      return `frames ${frames.join('; ')}; cut at ${s.cuts.join(',')}`
    },
  }),
]
