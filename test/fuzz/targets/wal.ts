/**
 * The consensus write-ahead record: its bytes fuzzed like any decoder's, and its round trip over
 * records drawn field by field and records a real machine writes. The record is the node's guard
 * against double signing, and a record it wrote but cannot read back stops it for good.
 */
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import type { Step, WalRecord } from '../../../core/consensus/types.ts'
import { decodeWal, encodeWal } from '../../../core/consensus/wal-codec.ts'
import { Writer } from '../../../core/ledger/codec.ts'
import { writeBlock, writeSignedProposal, writeSignedVote } from '../../../core/ledger/encoding.ts'
import type { Block } from '../../../core/ledger/types.ts'
import { checkWal } from '../bounds.ts'
import { ACCEPTED, Broken, type FuzzTarget, target, type Verdict } from '../engine.ts'
import { type ByteInput, bytesFor } from '../mutations.ts'
import { blockValue, proposalHeadOf, record, voteOf } from '../values.ts'
import { runWalk, walks } from '../walks.ts'
import { decodeOrReject, refusedIfDamaged, sameBytes, showInput } from './codec.ts'

const STEPS: readonly Step[] = ['idle', 'propose', 'prevote', 'precommit', 'decided']
const round = fc.integer({ min: -1, max: 0x7fff_ffff })
/** Votes of heights and rounds a node reaches: the record keeps one height's. */
const vote = voteOf({ round: fc.nat(40) })
const votes = fc.array(vote, { maxLength: 6 })

/**
 * Drawn field by field; blocks come from a small pool and are referred to by position, so that
 * the locked block, the valid block and proposals share one object as the machine's do.
 */
const walRecords: fc.Arbitrary<WalRecord> = record({
  height: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  round: fc.nat({ max: 2 ** 31 - 1 }),
  step: fc.constantFrom(...STEPS),
  pool: fc.array(blockValue, { minLength: 1, maxLength: 3 }),
  locked: fc.option(fc.nat(), { nil: null }),
  lockedRound: round,
  valid: fc.option(fc.nat(), { nil: null }),
  validRound: round,
  validPolka: votes,
  roundCertificate: votes,
  votes,
  proposals: fc.array(record({ head: proposalHeadOf(fc.nat(40)), block: fc.nat() }), {
    maxLength: 3,
  }),
}).map(({ pool, locked, valid, proposals, ...w }): WalRecord => {
  const pick = (i: number | null): Block | null => (i === null ? null : pool[i % pool.length]!)
  return {
    ...w,
    lockedBlock: pick(locked),
    validBlock: pick(valid),
    proposals: proposals.map((p) => ({ ...p.head, block: pick(p.block)! })),
  }
})

/** Version 1, each block inline: still read, so still fuzzed. */
function encodeWalV1(wal: WalRecord): Uint8Array {
  const w = new Writer()
  w.u8(1).u53(wal.height).u53(wal.round).u8(STEPS.indexOf(wal.step))
  for (const [r, b] of [
    [wal.lockedRound, wal.lockedBlock],
    [wal.validRound, wal.validBlock],
  ] as const) {
    w.i32(r).bool(b !== null)
    if (b !== null) writeBlock(w, b)
  }
  for (const list of [wal.validPolka, wal.roundCertificate, wal.votes]) {
    w.u32(list.length)
    for (const v of list) writeSignedVote(w, v)
  }
  w.u32(wal.proposals.length)
  for (const p of wal.proposals) writeSignedProposal(w, p)
  return w.finish()
}

/**
 * A record written and read back must be the record: the same fields, and the same bytes when
 * written again.
 */
export function roundTrip(wal: WalRecord): WalRecord {
  const bytes = encodeWal(wal)
  let back: WalRecord
  try {
    back = decodeWal(bytes)
  } catch (error) {
    throw new Broken(`a record encodeWal wrote does not decode: ${(error as Error).message}`)
  }
  if (!isDeepStrictEqual(back, wal)) throw new Broken('a record reads back different')
  if (!sameBytes(encodeWal(back), bytes))
    throw new Broken('a record read back re-encodes differently')
  return back
}

/**
 * Any record the decoder accepts must survive being written again. Byte equality is not
 * required here: the format lets blocks be stored in any order (or unreferenced), which is
 * harmless for a record that is never hashed or signed.
 */
function runWalBytes({ bytes, valid }: ByteInput): Verdict {
  const decoded = decodeOrReject(decodeWal, bytes)
  if (!('value' in decoded)) return refusedIfDamaged(decoded, valid)
  checkWal(decoded.value)
  roundTrip(decoded.value)
  return ACCEPTED
}

export const walTargets: readonly FuzzTarget[] = [
  target({
    name: 'wal record bytes',
    weight: 10,
    inputs: bytesFor(
      fc.oneof(
        { arbitrary: walRecords.map(encodeWal), weight: 4 },
        { arbitrary: walRecords.map(encodeWalV1), weight: 1 },
      ),
      [1, 2],
    ),
    run: runWalBytes,
    show: showInput,
  }),
  target({
    name: 'wal round trip (drawn)',
    weight: 5,
    inputs: walRecords,
    run: (wal) => {
      roundTrip(wal)
      return ACCEPTED
    },
  }),
  target({
    name: 'wal round trip (machine)',
    weight: 2,
    inputs: walks,
    run: (walk) => {
      runWalk(walk, roundTrip, roundTrip)
      return ACCEPTED
    },
  }),
]
