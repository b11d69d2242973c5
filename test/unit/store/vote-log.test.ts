/** The consensus write-ahead log gives back the last record written whole, whatever a crash tore. */
import assert from 'node:assert/strict'
import fs, {
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { StoreError, VoteLog } from '../../../core/store/index.ts'
import { tempDirs } from './helpers.ts'

const dirs = tempDirs()
after(() => dirs.cleanup())

const record = (n: number, size = 100) => new Uint8Array(size).fill(n)

/** A closed log holding record 1 in `votes.1` and record 2, the newest, in `votes.0`. */
function twoRecords(): string {
  const dir = dirs.dir()
  const log = VoteLog.open(dir, { create: true })
  log.write(record(1))
  log.write(record(2))
  log.close()
  return dir
}

test('a new log holds no record, and a written one is read back after reopening', () => {
  const dir = dirs.dir()
  const log = VoteLog.open(dir, { create: true })
  assert.equal(log.read(), null)
  log.write(record(1))
  log.write(record(2, 3000))
  log.write(record(3, 10))
  assert.deepEqual(log.read(), record(3, 10))
  log.close()
  const again = VoteLog.open(dir, { create: true })
  assert.deepEqual(again.read(), record(3, 10), 'a shorter record over a longer one reads whole')
  again.write(record(4))
  again.close()
  assert.deepEqual(VoteLog.open(dir, { create: true }).read(), record(4))
})

test('a write torn by a crash leaves the record before it', () => {
  const dir = dirs.dir()
  const log = VoteLog.open(dir, { create: true })
  for (let n = 1; n <= 5; n++) log.write(record(n, 500))
  log.close()
  // Record 5 went to the slot 5 % 2; tear it half way.
  const newest = join(dir, 'votes.1')
  truncateSync(newest, 300)
  const reopened = VoteLog.open(dir, { create: true })
  assert.deepEqual(reopened.read(), record(4, 500))
  reopened.write(record(6, 500))
  reopened.close()
  assert.deepEqual(
    VoteLog.open(dir, { create: true }).read(),
    record(6, 500),
    'writing goes on after a torn slot',
  )
})

test('a flipped byte in the newest slot is caught by its checksum', () => {
  const dir = twoRecords()
  const file = join(dir, 'votes.0')
  const bytes = readFileSync(file)
  bytes[bytes.length - 1] = bytes.at(-1)! ^ 0xff
  writeFileSync(file, bytes)
  assert.deepEqual(VoteLog.open(dir, { create: true }).read(), record(1))
})

test('a slot whose sequence number alone was rewritten does not pass for the newest record', () => {
  const dir = twoRecords()
  // Record 1 sits in votes.1; give it sequence 3, as a write of record 3 torn after its header
  // would, over the old length, checksum and record.
  const file = join(dir, 'votes.1')
  const bytes = readFileSync(file)
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(4, 3n)
  writeFileSync(file, bytes)
  assert.deepEqual(VoteLog.open(dir, { create: true }).read(), record(2))
})

test('a log whose two slots are both damaged is refused by name and left as it is', () => {
  const dir = twoRecords()
  for (const s of ['votes.0', 'votes.1']) writeFileSync(join(dir, s), 'not a slot')
  assert.throws(
    () => VoteLog.open(dir, { create: true }),
    (e: unknown) =>
      e instanceof StoreError &&
      e.message.includes(join(dir, 'votes.0')) &&
      e.message.includes(join(dir, 'votes.1')) &&
      /will not vote/.test(e.message),
  )
  assert.equal(readFileSync(join(dir, 'votes.0'), 'utf8'), 'not a slot')
})

test('a missing slot file is refused by name, and not made again, unless the database is new', () => {
  const dir = dirs.dir()
  const log = VoteLog.open(dir, { create: true })
  log.write(record(7))
  log.close()
  rmSync(join(dir, 'votes.0'))
  assert.throws(
    () => VoteLog.open(dir, { create: false }),
    (e: unknown) =>
      e instanceof StoreError &&
      e.message.includes(join(dir, 'votes.0')) &&
      !e.message.includes(join(dir, 'votes.1')) &&
      /could sign twice/.test(e.message) &&
      /Restore it from the backup/.test(e.message),
  )
  assert.equal(existsSync(join(dir, 'votes.0')), false, 'the refused log was left as it was')
  assert.deepEqual(VoteLog.open(dir, { create: true }).read(), record(7), 'a new database may')
})

test('a log with both slot files missing is refused, naming both', () => {
  const dir = dirs.dir()
  assert.throws(
    () => VoteLog.open(dir, { create: false }),
    (e: unknown) =>
      e instanceof StoreError &&
      e.message.includes(join(dir, 'votes.0')) &&
      e.message.includes(join(dir, 'votes.1')),
  )
  assert.deepEqual(readdirSync(dir), [])
})

/** Runs `fn` with fs.writeSync replaced (and the ESM bindings of node:fs synced to it). */
function withWriteSync<T>(replacement: typeof fs.writeSync, fn: () => T): T {
  const original = fs.writeSync
  fs.writeSync = replacement
  syncBuiltinESMExports()
  try {
    return fn()
  } finally {
    fs.writeSync = original
    syncBuiltinESMExports()
  }
}

test('a slot written by short writes is written whole', () => {
  const dir = dirs.dir()
  const log = VoteLog.open(dir, { create: true })
  const original = fs.writeSync
  // At most 7 bytes a call, as write(2) may do on a full disk or a signal.
  const short = ((
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ) => original(fd, buffer, offset, Math.min(length, 7), position)) as typeof fs.writeSync
  withWriteSync(short, () => log.write(record(9, 1000)))
  log.close()
  assert.deepEqual(VoteLog.open(dir, { create: true }).read(), record(9, 1000))
})

test('a slot write that makes no progress fails, and the record before it stands', () => {
  const dir = dirs.dir()
  const log = VoteLog.open(dir, { create: true })
  log.write(record(1))
  const stuck = (() => 0) as unknown as typeof fs.writeSync
  assert.throws(
    () => withWriteSync(stuck, () => log.write(record(2))),
    (e: unknown) => e instanceof StoreError && /no progress/.test(e.message),
  )
  assert.deepEqual(log.read(), record(1))
  log.close()
  assert.deepEqual(VoteLog.open(dir, { create: true }).read(), record(1))
})

test('an empty record is refused: it is how a fresh slot says "nothing"', () => {
  const log = VoteLog.open(dirs.dir(), { create: true })
  assert.throws(() => log.write(new Uint8Array(0)), RangeError)
  log.close()
})
