/** The write-ahead record survives the disk byte for byte, and a damaged one is refused. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { WalRecord } from '../../../core/consensus/types.ts'
import { decodeWal, encodeWal } from '../../../core/consensus/wal-codec.ts'
import { transfer } from '../ledger/helpers.ts'
import { loneReplica } from './lone-replica.ts'

/** The records a lone member writes while it commits an entry: votes, a proposal, a lock. */
function records(): WalRecord[] {
  const { replica } = loneReplica()
  const r = replica.submit(transfer(), 10, 1)
  assert.ok(r.ok)
  return r.effects.flatMap((e) => (e.type === 'persist-wal' ? [e.wal] : []))
}

test('every write-ahead record a node writes decodes to the same record', () => {
  const all = records()
  assert.ok(all.some((w) => w.votes.length > 0 && w.proposals.length > 0 && w.lockedBlock !== null))
  for (const w of all) assert.deepEqual(decodeWal(encodeWal(w)), w)
})

test('a truncated or extended write-ahead record is refused, not half read', () => {
  const bytes = encodeWal(records().at(-1)!)
  assert.throws(() => decodeWal(bytes.subarray(0, bytes.length - 1)))
  assert.throws(() => decodeWal(new Uint8Array([...bytes, 0])))
  const otherVersion = bytes.slice()
  otherVersion[0] = 99
  assert.throws(() => decodeWal(otherVersion), /version 99/)
})
