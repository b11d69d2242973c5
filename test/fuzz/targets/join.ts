/**
 * The join protocol's frames (core/net/join.ts): the one protocol a machine that is not a
 * member may speak to a ledger's node, so its requests come from anyone on the LAN, and its
 * answers from any node a joining machine asks. A frame must be refused with JoinProtocolError
 * or read as a value within the protocol's bounds that survives its own encoding. The encoding is
 * JSON, which is not canonical (key order, spacing), so values are compared, not bytes.
 */
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import {
  decodeJoinAnswer,
  decodeJoinRequest,
  encodeJoin,
  type JoinAnswer,
  JoinProtocolError,
  type JoinRequest,
  MAX_JOIN_ADDRS,
  MAX_MACHINE_NAME,
} from '../../../core/net/join.ts'
import { within } from '../bounds.ts'
import { ACCEPTED, Broken, type FuzzTarget, target, type Verdict } from '../engine.ts'
import { type ByteInput, bytesFor } from '../mutations.ts'
import { decodeOrReject, refusedIfDamaged, showInput } from './codec.ts'

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/)
const name = (max: number) => fc.string({ unit: 'binary', maxLength: max })
const count = fc.oneof(fc.nat(1000), fc.maxSafeNat())

const requests: fc.Arbitrary<JoinRequest> = fc.oneof(
  fc.constant({ type: 'hello' as const }),
  fc.record({ type: fc.constant('join' as const), ledger: hex64, name: name(MAX_MACHINE_NAME) }),
)

const answers: fc.Arbitrary<JoinAnswer> = fc.oneof(
  fc.record({
    type: fc.constant('info' as const),
    info: fc.record({
      ledger: hex64,
      name: name(256),
      members: count,
      online: count,
      since: count,
    }),
  }),
  fc.constantFrom(
    { type: 'pending' as const },
    { type: 'denied' as const },
    { type: 'full' as const },
  ),
  fc.record({
    type: fc.constant('approved' as const),
    genesis: fc.base64String({ maxLength: 400 }),
    addrs: fc.array(name(256), { maxLength: 6 }),
  }),
  fc.record({ type: fc.constant('refused' as const), reason: name(512) }),
)

const anyJson = fc.jsonValue({ maxDepth: 2 })
/** Mostly a field of the right kind, sometimes any JSON at all. */
const field = <T>(right: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: right, weight: 4 }, { arbitrary: anyJson, weight: 1 })

/**
 * Objects shaped like frames of either direction, fields of the wrong type, too long or left
 * out: byte mutations of JSON mostly stop at the parser, and these get past it to the checks.
 */
const frameLike = fc
  .record(
    {
      type: fc.constantFrom('hello', 'join', 'info', 'pending', 'approved', 'refused', 'other'),
      ledger: field(hex64),
      name: field(name(80)),
      info: field(
        fc.record(
          {
            ledger: field(hex64),
            name: field(name(300)),
            members: field(count),
            online: field(count),
            since: field(fc.oneof(count, fc.double())),
          },
          { requiredKeys: [] },
        ),
      ),
      genesis: field(fc.base64String({ maxLength: 40 })),
      addrs: field(
        fc.oneof(
          fc.array(field(name(300)), { maxLength: 4 }),
          fc.constant(Array.from({ length: MAX_JOIN_ADDRS + 1 }, () => '/ip4/127.0.0.1/tcp/1')),
        ),
      ),
      reason: field(name(600)),
    },
    { requiredKeys: ['type'] },
  )
  .map((v) => new TextEncoder().encode(JSON.stringify(v)))

/** Drawn frames as bytes, and frame-like objects, which are not known to be valid. */
function inputs(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<ByteInput> {
  return fc.oneof(
    { arbitrary: bytesFor(valid, [0x7b]), weight: 2 },
    { arbitrary: frameLike.map((bytes): ByteInput => ({ bytes, valid: false })), weight: 1 },
  )
}

/** The frame's body: what the decoders are given once the length prefix has been read. */
function body(value: JoinRequest | JoinAnswer): Uint8Array {
  return encodeJoin(value).subarray(4)
}

const isLedgerId = (v: string) => /^[0-9a-f]{64}$/.test(v)

function checkRequest(r: JoinRequest): void {
  if (r.type !== 'join') return
  within(isLedgerId(r.ledger), 'ledger id')
  within(r.name.length <= MAX_MACHINE_NAME, 'machine name')
}

function checkAnswer(a: JoinAnswer): void {
  switch (a.type) {
    case 'info': {
      const { ledger, name, members, online, since } = a.info
      within(isLedgerId(ledger) && name.length <= 256, 'ledger id and name')
      within(
        [members, online, since].every((n) => Number.isSafeInteger(n) && n >= 0),
        'counts',
      )
      break
    }
    case 'approved':
      within(a.addrs.length <= MAX_JOIN_ADDRS, 'number of addresses')
      within(
        a.addrs.every((addr) => addr.length <= 256),
        'address length',
      )
      break
    case 'refused':
      within(a.reason.length <= 512, 'reason length')
      break
  }
}

/** A decoder of one direction: `valid` draws its frames, `check` holds its bounds. */
function joinTarget<T extends JoinRequest | JoinAnswer>(
  name: string,
  decode: (b: Uint8Array) => T,
  check: (value: T) => void,
  valid: fc.Arbitrary<T>,
): FuzzTarget {
  return target({
    name,
    weight: 3,
    inputs: inputs(valid.map(body)),
    run: (input) => runJoin(decode, check, input),
    show: showInput,
  })
}

function runJoin<T extends JoinRequest | JoinAnswer>(
  decode: (b: Uint8Array) => T,
  check: (value: T) => void,
  { bytes, valid }: ByteInput,
): Verdict {
  const read = decodeOrReject(decode, bytes, JoinProtocolError)
  if (!('value' in read)) return refusedIfDamaged(read, valid)
  check(read.value)
  const again = decodeOrReject(decode, body(read.value), JoinProtocolError)
  if (!('value' in again) || !isDeepStrictEqual(again.value, read.value)) {
    throw new Broken('an accepted frame does not survive its own encoding')
  }
  return ACCEPTED
}

export const joinTargets: readonly FuzzTarget[] = [
  joinTarget('join request', decodeJoinRequest, checkRequest, requests),
  joinTarget('join answer', decodeJoinAnswer, checkAnswer, answers),
]
