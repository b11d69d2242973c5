/**
 * What a node reads back from its disk at start: its key and genesis, the blocks it committed,
 * its consensus write-ahead record, and the entries still waiting for a block. Refuses, naming
 * the file, whatever it cannot trust: a node that would vote without its record could sign twice.
 */
import type { SyncedBlock } from '../consensus/messages.ts'
import type { Recovered } from '../consensus/replica.ts'
import type { WalRecord } from '../consensus/types.ts'
import { decodeWal } from '../consensus/wal-codec.ts'
import { type Keypair, keypairFromSeed } from '../ledger/crypto.ts'
import { decodeGenesis } from '../ledger/encoding.ts'
import type { Genesis, Hash } from '../ledger/types.ts'
import type { Store } from '../store/store.ts'
import type { VoteLog } from '../store/vote-log.ts'

export interface DiskState {
  readonly seed: Uint8Array
  readonly keypair: Keypair
  readonly genesis: Genesis
  readonly recovered: Recovered
  /** Waiting entries submitted here that no peer is known to have yet. */
  readonly unrelayed: readonly Hash[]
  /** When each waiting entry reached this node. */
  readonly received: ReadonlyMap<Hash, number>
}

export function readDisk(store: Store, votes: VoteLog, now: number): DiskState {
  const seed = store.getMeta('node-seed')
  const genesisBytes = store.getMeta('genesis')
  if (seed === null || genesisBytes === null) {
    throw new Error(
      `${store.file} holds no node key or no genesis: start \`tally node\` on an empty folder to create or join a ledger`,
    )
  }
  const entries = store.pendingEntries()
  const unrelayed: Hash[] = []
  const received = new Map<Hash, number>()
  for (const e of entries) {
    const rec = store.entry(e.id)
    if (rec?.local && rec.status === 'submitted') unrelayed.push(e.id)
    received.set(e.id, rec?.received ?? now)
  }
  return {
    seed,
    keypair: keypairFromSeed(seed),
    genesis: decodeGenesis(genesisBytes),
    recovered: { blocks: storedBlocks(store), wal: record(store, votes), entries },
    unrelayed,
    received,
  }
}

function storedBlocks(store: Store): SyncedBlock[] {
  const blocks: SyncedBlock[] = []
  for (let h = 1; h <= store.height(); h++) {
    const b = store.block(h)
    if (b === null) throw new Error(`${store.file} lacks block ${h} below its height`)
    blocks.push(b)
  }
  return blocks
}

/** Data folders from before the record moved out of the database keep it under meta 'wal'. */
function record(store: Store, votes: VoteLog): WalRecord | null {
  const logged = votes.read()
  const bytes = logged ?? store.getMeta('wal')
  if (bytes === null) return null
  try {
    return decodeWal(bytes)
  } catch (error) {
    throw new Error(
      `the consensus write-ahead record in ${logged === null ? store.file : votes.files.join(' / ')} does not decode (${(error as Error).message}); the node will not vote without it`,
    )
  }
}
