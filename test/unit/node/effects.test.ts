/**
 * The effect executor's one rule, over random effect sequences: nothing leaves the node before
 * what it depends on is on disk. The disk here is the node's own group commit (WriteBatch) over
 * a store that only records what each transaction wrote and which of it a sync made durable, so
 * "on disk" means what would survive a power cut.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ReplicaEffect } from '../../../core/consensus/replica.ts'
import { decodeWal } from '../../../core/consensus/wal-codec.ts'
import type { Block, SignedEntry } from '../../../core/ledger/types.ts'
import { batchedDisk, EffectExecutor, type EffectOutlets } from '../../../core/node/effects.ts'
import { WriteBatch } from '../../../core/node/write-batch.ts'
import { Prng } from '../../sim/prng.ts'
import { walRecord } from '../consensus/harness.ts'

/** Records what reached the disk, and what of it a sync made durable. */
class RecordingStore {
  /** Written by a committed transaction, lost in a power cut until synced. */
  readonly written = new Set<string>()
  readonly durable = new Set<string>()
  #staged: string[] = []
  syncs = 0

  transaction<T>(fn: () => T, durable = true): T {
    const r = fn()
    for (const w of this.#staged) this.written.add(w)
    this.#staged = []
    if (durable) this.sync()
    return r
  }

  sync(): void {
    for (const w of this.written) this.durable.add(w)
    this.syncs++
  }

  putEntry(entry: SignedEntry): void {
    this.#staged.push(`entry ${entry.id}`)
  }

  appendBlock(block: Block): void {
    this.#staged.push(`block ${block.header.height}`)
  }
}

interface Violation {
  readonly step: number
  readonly what: string
}

/**
 * One node's life as effects: heights decided one after another, each with its records and
 * votes, entries heard and submitted, and the event-loop turns in which the batch writes what
 * it holds without an fsync. Returns every broken dependency.
 */
async function run(seed: number, Batch: typeof WriteBatch = WriteBatch): Promise<Violation[]> {
  const prng = new Prng(seed)
  const store = new RecordingStore()
  const writes = new Batch(store, () => {})
  const recordHeights: number[] = []
  const violations: Violation[] = []
  let step = 0
  const blocksBelow = (h: number) => {
    for (let b = 1; b < h; b++) {
      if (!store.durable.has(`block ${b}`)) return b
    }
    return null
  }
  const votes = {
    write(record: Uint8Array) {
      const { height } = decodeWal(record)
      const lost = blocksBelow(height)
      if (lost !== null) {
        violations.push({
          step,
          what: `record of height ${height} written before block ${lost} was durable`,
        })
      }
      recordHeights.push(height)
    },
  }
  const outlets: EffectOutlets = {
    send: () => {
      // A vote goes out only after the record the replica put before it: the log syncs it.
      if (recordHeights.length === 0) violations.push({ step, what: 'a send before any record' })
    },
    schedule: () => {},
    penalise: () => {},
    equivocation: () => {},
    entry: () => {},
    committed: () => {},
  }
  const executor = new EffectExecutor(
    batchedDisk(votes, writes, store, () => 0),
    outlets,
  )
  let height = 1
  let entries = 0
  const submitted: string[] = []
  for (; step < 300; step++) {
    const turn: ReplicaEffect[] = []
    for (let n = prng.int(1, 6); n > 0; n--) {
      const roll = prng.next()
      if (roll < 0.35) {
        turn.push({ type: 'persist-wal', wal: walRecord({ height, round: prng.int(0, 2) }) })
        turn.push({ type: 'send', to: null, message: { type: 'sync-request', from: height } })
      } else if (roll < 0.55) {
        turn.push({ type: 'persist-entry', entry: entry(++entries), durable: prng.chance(0.5) })
      } else if (roll < 0.75) {
        // Decided here, or fetched by block sync: several heights may end in one turn.
        for (let k = prng.int(1, 3); k > 0; k--) {
          const block = { header: { height }, entries: [] } as unknown as Block
          turn.push({ type: 'persist-block', block, commit: commit() })
          turn.push({ type: 'committed', block, hash: 'h', commit: commit(), outcomes: [] })
          height++
        }
      } else {
        turn.push({ type: 'schedule', timer: { kind: 'relay' }, afterMs: 1 })
      }
    }
    executor.carry(turn)
    for (const e of turn) {
      if (e.type === 'persist-entry' && e.durable) submitted.push(`entry ${e.entry.id}`)
    }
    // The submit path acknowledges after flush(): what it acknowledges must then be durable.
    if (prng.chance(0.3)) {
      writes.flush()
      for (const w of submitted.splice(0)) {
        if (!store.durable.has(w))
          violations.push({ step, what: `${w} acknowledged before it was durable` })
      }
    }
    // The end of the event-loop turn: the batch writes what it holds, without an fsync.
    if (prng.chance(0.7)) await new Promise((r) => setImmediate(r))
  }
  return violations
}

/** The defect the power-cut tests found: a sync with nothing queued commits nothing, so syncs nothing. */
class EmptySyncBatch extends WriteBatch {
  override sync(): void {
    this.flush(true)
  }
}

function entry(n: number): SignedEntry {
  return { id: `e${n}` } as unknown as SignedEntry
}

function commit() {
  return { height: 0, round: 0, blockHash: '', signatures: [] } as never
}

describe('the effect executor', () => {
  it('writes no vote record before every block below its height is durable, over 200 random schedules', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const violations = await run(seed)
      assert.deepEqual(violations, [], `seed ${seed}`)
    }
  })

  it('is caught by these schedules when a sync finds nothing queued and so syncs nothing', async () => {
    // Blocks written without an fsync at the end of a turn, then a record of a later height.
    let caught = 0
    for (let seed = 1; seed <= 50; seed++) {
      const violations = await run(seed, EmptySyncBatch)
      if (violations.length > 0) caught++
    }
    assert.ok(caught > 0, 'no schedule noticed an unsynced block under a later record')
  })
})
