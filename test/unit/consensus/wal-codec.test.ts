/** The write-ahead record survives the disk byte for byte, and a damaged one is refused. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SyncedBlock } from '../../../core/consensus/messages.ts'
import { Replica, type ReplicaEffect } from '../../../core/consensus/replica.ts'
import { LAN_TIMING } from '../../../core/consensus/timing.ts'
import type { WalRecord } from '../../../core/consensus/types.ts'
import { decodeWal, encodeWal } from '../../../core/consensus/wal-codec.ts'
import { Verifier } from '../../../core/ledger/crypto.ts'
import { keypairs, makeGenesis, transfer } from '../ledger/helpers.ts'

/** The records a lone member writes while it commits an entry: votes, a proposal, a lock. */
function records(): WalRecord[] {
  const [kp] = keypairs(1)
  const chain = new Map<number, SyncedBlock>()
  const replica = new Replica({
    keypair: kp!,
    genesis: makeGenesis([kp!]),
    timing: LAN_TIMING,
    verifier: new Verifier(),
    chain: { block: (h) => chain.get(h) ?? null },
  })
  const out: WalRecord[] = []
  const take = (effects: readonly ReplicaEffect[]) => {
    for (const e of effects) if (e.type === 'persist-wal') out.push(e.wal)
  }
  take(replica.start(0))
  const r = replica.submit(transfer(), 10, 1)
  assert.ok(r.ok)
  take(r.effects)
  return out
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
