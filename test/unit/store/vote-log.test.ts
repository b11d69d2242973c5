/** The consensus write-ahead log gives back the last record written whole, whatever a crash tore. */
import assert from 'node:assert/strict'
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
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
  const log = VoteLog.open(dir)
  log.write(record(1))
  log.write(record(2))
  log.close()
  return dir
}

test('a new log holds no record, and a written one is read back after reopening', () => {
  const dir = dirs.dir()
  const log = VoteLog.open(dir)
  assert.equal(log.read(), null)
  log.write(record(1))
  log.write(record(2, 3000))
  log.write(record(3, 10))
  assert.deepEqual(log.read(), record(3, 10))
  log.close()
  const again = VoteLog.open(dir)
  assert.deepEqual(again.read(), record(3, 10), 'a shorter record over a longer one reads whole')
  again.write(record(4))
  again.close()
  assert.deepEqual(VoteLog.open(dir).read(), record(4))
})

test('a write torn by a crash leaves the record before it', () => {
  const dir = dirs.dir()
  const log = VoteLog.open(dir)
  for (let n = 1; n <= 5; n++) log.write(record(n, 500))
  log.close()
  // Record 5 went to the slot 5 % 2; tear it half way.
  const newest = join(dir, 'votes.1')
  truncateSync(newest, 300)
  const reopened = VoteLog.open(dir)
  assert.deepEqual(reopened.read(), record(4, 500))
  reopened.write(record(6, 500))
  reopened.close()
  assert.deepEqual(VoteLog.open(dir).read(), record(6, 500), 'writing goes on after a torn slot')
})

test('a flipped byte in the newest slot is caught by its checksum', () => {
  const dir = twoRecords()
  const file = join(dir, 'votes.0')
  const bytes = readFileSync(file)
  bytes[bytes.length - 1] = bytes.at(-1)! ^ 0xff
  writeFileSync(file, bytes)
  assert.deepEqual(VoteLog.open(dir).read(), record(1))
})

test('a slot whose sequence number alone was rewritten does not pass for the newest record', () => {
  const dir = twoRecords()
  // Record 1 sits in votes.1; give it sequence 3, as a write of record 3 torn after its header
  // would, over the old length, checksum and record.
  const file = join(dir, 'votes.1')
  const bytes = readFileSync(file)
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(4, 3n)
  writeFileSync(file, bytes)
  assert.deepEqual(VoteLog.open(dir).read(), record(2))
})

test('a log whose two slots are both damaged is refused by name and left as it is', () => {
  const dir = twoRecords()
  for (const s of ['votes.0', 'votes.1']) writeFileSync(join(dir, s), 'not a slot')
  assert.throws(
    () => VoteLog.open(dir),
    (e: unknown) =>
      e instanceof StoreError &&
      e.message.includes(join(dir, 'votes.0')) &&
      e.message.includes(join(dir, 'votes.1')) &&
      /will not vote/.test(e.message),
  )
  assert.equal(readFileSync(join(dir, 'votes.0'), 'utf8'), 'not a slot')
})

test('a slot file lost before its first write is made again', () => {
  const dir = dirs.dir()
  const log = VoteLog.open(dir)
  log.write(record(7))
  log.close()
  rmSync(join(dir, 'votes.0'))
  assert.deepEqual(VoteLog.open(dir).read(), record(7))
})

test('an empty record is refused: it is how a fresh slot says "nothing"', () => {
  const log = VoteLog.open(dirs.dir())
  assert.throws(() => log.write(new Uint8Array(0)), RangeError)
  log.close()
})
