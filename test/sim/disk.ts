/**
 * A simulated disk: writes land in a page cache and become durable only when a sync completes.
 * A crash keeps the durable prefix and loses the rest, like a power cut under an fsync-based
 * store (one log, so a sync makes every earlier write durable).
 */
import type { SyncedBlock } from '../../core/consensus/messages.ts'
import type { Recovered } from '../../core/consensus/replica.ts'
import type { WalRecord } from '../../core/consensus/types.ts'
import type { SignedEntry } from '../../core/ledger/types.ts'

export type DiskWrite =
  | { readonly kind: 'wal'; readonly wal: WalRecord }
  | { readonly kind: 'entry'; readonly entry: SignedEntry }
  | { readonly kind: 'block'; readonly block: SyncedBlock }

export class SimDisk {
  private writes: DiskWrite[] = []
  private durable = 0
  /** Committed blocks by height as the node sees them (page cache included). */
  private readonly blocks = new Map<number, SyncedBlock>()

  write(w: DiskWrite): void {
    this.writes.push(w)
    if (w.kind === 'block') this.blocks.set(w.block.block.header.height, w.block)
  }

  /** Everything written so far becomes durable. */
  sync(): void {
    this.durable = this.writes.length
  }

  /** Loses every write that no sync covered. */
  crash(): void {
    for (const w of this.writes.slice(this.durable)) {
      if (w.kind === 'block') this.blocks.delete(w.block.block.header.height)
    }
    this.writes = this.writes.slice(0, this.durable)
  }

  block(height: number): SyncedBlock | null {
    return this.blocks.get(height) ?? null
  }

  recover(): Recovered {
    let wal: WalRecord | null = null
    const entries: SignedEntry[] = []
    for (const w of this.writes) {
      if (w.kind === 'wal') wal = w.wal
      else if (w.kind === 'entry') entries.push(w.entry)
    }
    const blocks: SyncedBlock[] = []
    for (let h = 1; this.blocks.has(h); h++) blocks.push(this.blocks.get(h)!)
    return { blocks, wal, entries }
  }
}
