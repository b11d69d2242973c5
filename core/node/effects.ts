/**
 * Carries the replica's effects out in the order it gives them, under one rule: nothing leaves
 * the node before what it depends on is on disk, where "on disk" means it survives a power cut,
 * not only a killed process.
 *
 * What depends on what:
 * - A proposal or vote depends on the write-ahead record the replica emitted before it: the
 *   record is synced by the vote log before `writeRecord` returns, so the send after it is safe.
 * - A record of height h depends on every block below h. After a power cut the node restarts at
 *   the height its database kept; a record of a later height would then be passed over, and the
 *   node would stand at a height where it signed votes it has no record of, free to sign others.
 *   Blocks are written without an fsync (any peer can send them again), so before the first
 *   record past a block that is not yet durable, the database is synced.
 * - A submitter's acknowledgement depends on its entry: submitted entries are queued durable, and
 *   whoever acknowledges syncs the queue first (see TallyNode's submit path).
 *
 * The rest (entries heard from peers, peer addresses) depends on nothing and nothing depends on
 * it: it is queued and goes to disk with the next write, synced or not.
 */
import type { WireMessage } from '../consensus/messages.ts'
import type { ReplicaEffect, ReplicaTimer } from '../consensus/replica.ts'
import { encodeWal } from '../consensus/wal-codec.ts'
import type { Block, Commit, EntryOutcome, Hash, NodeId, SignedEntry } from '../ledger/types.ts'
import type { WriteBatch } from './write-batch.ts'

/** The node's disk as the executor sees it. */
export interface EffectDisk {
  /** Writes the consensus write-ahead record; it is synced when this returns. */
  writeRecord(record: Uint8Array): void
  /** Queues an entry; `durable` ones are synced before anyone is told they are stored. */
  queueEntry(entry: SignedEntry, durable: boolean): void
  /** Queues a committed block with the outcomes of its entries. */
  queueBlock(block: Block, commit: Commit, outcomes: readonly EntryOutcome[]): void
  /** Everything queued or written so far is synced when this returns. */
  sync(): void
  /** Writes what is queued soon, without waiting for it. */
  writeSoon(): void
}

/** Where the effects that are not writes go. */
export interface EffectOutlets {
  send(to: NodeId | null, message: WireMessage): void
  schedule(timer: ReplicaTimer, afterMs: number): void
  penalise(peer: NodeId, reason: string): void
  equivocation(validator: NodeId, height: number): void
  /** An entry was queued for the disk: submitted here (`durable`) or heard from a peer. */
  entry(entry: SignedEntry, durable: boolean): void
  committed(block: Block, hash: Hash, commit: Commit, outcomes: readonly EntryOutcome[]): void
}

export class EffectExecutor {
  readonly #disk: EffectDisk
  readonly #out: EffectOutlets
  /** A committed block is queued or written without an fsync since the last sync. */
  #blockUnsynced = false

  constructor(disk: EffectDisk, out: EffectOutlets) {
    this.#disk = disk
    this.#out = out
  }

  /** Carries the effects out in order; throws what the disk threw, and nothing after it runs. */
  carry(effects: readonly ReplicaEffect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'persist-wal':
          if (this.#blockUnsynced) {
            this.#disk.sync()
            this.#blockUnsynced = false
          }
          this.#disk.writeRecord(encodeWal(e.wal))
          break
        case 'persist-entry':
          this.#disk.queueEntry(e.entry, e.durable)
          this.#out.entry(e.entry, e.durable)
          break
        case 'persist-block':
          // Written with its outcomes at `committed`, which the replica emits right after.
          break
        case 'committed':
          this.#disk.queueBlock(e.block, e.commit, e.outcomes)
          this.#blockUnsynced = true
          this.#out.committed(e.block, e.hash, e.commit, e.outcomes)
          break
        case 'send':
          this.#out.send(e.to, e.message)
          break
        case 'schedule':
          this.#out.schedule(e.timer, e.afterMs)
          break
        case 'misbehaviour':
          this.#out.penalise(e.peer, e.reason)
          break
        case 'equivocation':
          this.#out.equivocation(e.validator, e.height)
          break
      }
    }
    this.#disk.writeSoon()
  }
}

/** The ledger writes the executor queues. */
export interface LedgerWrites {
  putEntry(entry: SignedEntry, local: boolean, now: number): void
  appendBlock(block: Block, commit: Commit, outcomes: readonly EntryOutcome[], now: number): void
}

/** The node's disk: the vote log for the record, group commit for the ledger's writes. */
export function batchedDisk(
  votes: { write(record: Uint8Array): void },
  writes: WriteBatch,
  ledger: LedgerWrites,
  now: () => number,
): EffectDisk {
  return {
    writeRecord: (record) => votes.write(record),
    queueEntry: (entry, durable) => {
      const at = now()
      writes.add(() => ledger.putEntry(entry, durable, at), durable)
    },
    queueBlock: (block, commit, outcomes) => {
      const at = now()
      writes.add(() => ledger.appendBlock(block, commit, outcomes, at), false)
    },
    sync: () => writes.sync(),
    writeSoon: () => writes.flushSoon(),
  }
}
