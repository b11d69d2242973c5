/**
 * The vote log's slot files, read the way a restarting node reads them (`VoteLog.open` on a
 * folder holding both slots) and compared with a model of the format its header documents: the
 * log must pick the newest slot whose checksum holds, or refuse when neither does. Mutated slots
 * are also re-sealed (their checksum recomputed) so that damage the checksum cannot see (a huge
 * length, a wild sequence number) reaches the parser too.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { StoreError, VoteLog } from '../../../core/store/index.ts'
import { ACCEPTED, Broken, type FuzzTarget, rejected, target, type Verdict } from '../engine.ts'
import { mutated, noise, showBytes } from '../mutations.ts'
import { sameBytes } from './codec.ts'

const MAGIC = 0x544c5631
const HEADER_BYTES = 32

function encodeSlot(seq: bigint, record: Uint8Array): Uint8Array {
  const slot = new Uint8Array(HEADER_BYTES + record.length)
  const view = new DataView(slot.buffer)
  view.setUint32(0, MAGIC)
  view.setBigUint64(4, seq)
  view.setUint32(12, record.length)
  slot.set(record, HEADER_BYTES)
  return reseal(slot)
}

/** The checksum recomputed over whatever the header now says, as far as the bytes reach. */
function reseal(bytes: Uint8Array): Uint8Array {
  if (bytes.length < HEADER_BYTES) return bytes
  const out = bytes.slice()
  const length = new DataView(out.buffer).getUint32(12)
  const digest = createHash('sha256')
    .update(out.subarray(4, 16))
    .update(out.subarray(HEADER_BYTES, HEADER_BYTES + length))
    .digest()
  out.set(digest.subarray(0, 16), 16)
  return out
}

interface Slot {
  readonly seq: number
  readonly record: Uint8Array
}

/** The format as vote-log.ts documents it. */
function modelSlot(bytes: Uint8Array): Slot | null {
  if (bytes.length < HEADER_BYTES) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0) !== MAGIC) return null
  const length = view.getUint32(12)
  if (HEADER_BYTES + length > bytes.length) return null
  const sealed = reseal(bytes.subarray(0, HEADER_BYTES + length))
  if (!sameBytes(sealed.subarray(16, 32), bytes.subarray(16, 32))) return null
  return {
    seq: Number(view.getBigUint64(4)),
    record: bytes.subarray(HEADER_BYTES, HEADER_BYTES + length),
  }
}

const seq = fc.oneof(
  fc.bigInt({ min: 0n, max: 1_000n }),
  fc.constantFrom(2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n),
)
const validSlot = fc
  .record({ seq, record: fc.uint8Array({ maxLength: 400 }) })
  .map(({ seq, record }) => encodeSlot(seq, record))

const slotFile = fc.oneof(
  { arbitrary: validSlot, weight: 2 },
  { arbitrary: mutated(validSlot), weight: 3 },
  { arbitrary: mutated(validSlot).map(reseal), weight: 3 },
  { arbitrary: noise(), weight: 1 },
)

let folder: string | null = null

/**
 * One folder for the whole run, removed at exit. Its first use checks the model against the
 * real log: slots the log writes must be the model's bytes, or every verdict here would be moot.
 */
function logFolder(): string {
  if (folder !== null) return folder
  const dir = mkdtempSync(join(tmpdir(), 'tally-fuzz-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const log = VoteLog.open(dir, { create: true })
  const records = [Uint8Array.of(1, 2, 3), new Uint8Array(70).fill(9)]
  for (const r of records) log.write(r)
  log.close()
  records.forEach((r, i) => {
    const seq = i + 1
    const written = readFileSync(join(dir, `votes.${seq % 2}`))
    if (!sameBytes(written, encodeSlot(BigInt(seq), r))) {
      throw new Error(`the fuzz model of a vote-log slot no longer matches what VoteLog writes`)
    }
  })
  folder = dir
  return dir
}

function runSlots([slot0, slot1]: readonly [Uint8Array, Uint8Array]): Verdict {
  const dir = logFolder()
  writeFileSync(join(dir, 'votes.0'), slot0)
  writeFileSync(join(dir, 'votes.1'), slot1)
  const sound = [slot0, slot1].map(modelSlot).filter((s): s is Slot => s !== null)
  let log: VoteLog
  try {
    log = VoteLog.open(dir, { create: true })
  } catch (error) {
    // Any other StoreError wraps an exception that escaped the parser: a crash.
    if (!(error instanceof StoreError) || !/both slots are damaged/.test(error.message)) throw error
    if (sound.length > 0) throw new Broken(`refused although a slot is sound: ${error.message}`)
    return rejected('both slots are damaged')
  }
  const got = log.read()
  log.close()
  if (sound.length === 0) throw new Broken('opened although neither slot is sound')
  const newest = sound.reduce((a, s) => (s.seq > a.seq ? s : a))
  const want = newest.record.length > 0 ? newest.record : null
  if (want === null ? got !== null : got === null || !sameBytes(got, want)) {
    throw new Broken(
      `read back ${got === null ? 'nothing' : showBytes(got)}, not the newest record`,
    )
  }
  return ACCEPTED
}

export const voteLogTargets: readonly FuzzTarget[] = [
  target({
    name: 'vote-log slots',
    weight: 4,
    inputs: fc.tuple(slotFile, slotFile),
    run: runSlots,
    show: ([a, b]) => `votes.0 ${showBytes(a)}; votes.1 ${showBytes(b)}`,
  }),
]
