/**
 * The consensus write-ahead record, kept out of the ledger database. It must be on disk before
 * each vote leaves, which puts its fsync on the critical path of every height; in the SQLite
 * file that fsync also flushed whatever blocks and entries had been written without one since
 * (the log syncs as a whole), a few milliseconds under load where this record alone costs a
 * fraction of one.
 *
 * Two files take turns: record n overwrites slot n % 2 in place, so a write torn by a crash
 * damages only the newer slot, whose record no vote depended on yet (nothing is sent before the
 * fdatasync returns), and the older slot still holds the last record that counted. Overwriting
 * in place keeps the file's size, so the sync writes data and no metadata once it has grown.
 *
 * A slot: "TLV1", sequence (u64), length (u32), SHA-256 of sequence, length and record (first 16
 * bytes), record.
 *
 * The slot files are created once, with the node's database. A slot missing later means the data
 * folder lost it (restored from a backup without it, say): recreating it empty would forget what
 * the node signed and let it sign again, so opening refuses unless the caller says the database
 * is new (see open-votes.ts).
 */
import { createHash } from 'node:crypto'
import {
  closeSync,
  constants,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
} from 'node:fs'
import { join } from 'node:path'
import { StoreError } from './errors.ts'
import { writeFully } from './write-fully.ts'

const MAGIC = 0x544c5631 // "TLV1"
const HEADER_BYTES = 4 + 8 + 4 + 16
const SLOTS = ['votes.0', 'votes.1'] as const

interface Slot {
  readonly seq: number
  readonly record: Uint8Array
}

export interface VoteLogOptions {
  /**
   * Whether missing slot files may be made (empty). Only for a node whose database is new: for
   * any other, a missing slot is refused. No default: the caller must know which it is.
   */
  readonly create: boolean
}

export class VoteLog {
  readonly files: readonly string[]
  readonly #fds: number[]
  #seq: number
  #last: Uint8Array | null

  private constructor(files: string[], fds: number[], newest: Slot) {
    this.files = files
    this.#fds = fds
    this.#seq = newest.seq
    // An empty record is the one a new slot starts with: nothing signed yet.
    this.#last = newest.record.length > 0 ? newest.record : null
  }

  /**
   * Opens the log in `dir`. Missing slot files are made only with `create`; without it they are
   * refused, naming them. At most one slot can be torn (only one is ever being written), so a
   * log where neither slot reads back is damaged: refused, naming the files, and left as it is.
   */
  static open(dir: string, options: VoteLogOptions): VoteLog {
    const files = SLOTS.map((s) => join(dir, s))
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      const missing = files.filter((f) => !existsSync(f))
      if (missing.length > 0 && !options.create) {
        throw new StoreError(
          `the consensus write-ahead log ${missing.join(' and ')} is missing, but this node's database is not new: without it the node does not know what it signed and could sign twice, so it will not start. Restore ${missing.length > 1 ? 'them' : 'it'} from the backup the database came from`,
        )
      }
      for (const f of missing) createEmptySlot(f)
      if (missing.length > 0) syncDir(dir)
      const slots = files.map(readSlot)
      const sound = slots.filter((s): s is Slot => s !== null)
      if (sound.length === 0) {
        throw new StoreError(
          `the consensus write-ahead log ${files.join(' and ')} does not read back (both slots are damaged); the node will not vote without it. It has been left as it is`,
        )
      }
      const newest = sound.reduce((a, s) => (s.seq > a.seq ? s : a))
      const fds: number[] = []
      try {
        for (const f of files) fds.push(openSync(f, constants.O_RDWR))
      } catch (e) {
        for (const fd of fds) closeSync(fd)
        throw e
      }
      return new VoteLog(files, fds, newest)
    } catch (e) {
      if (e instanceof StoreError) throw e
      throw new StoreError(
        `cannot open the consensus write-ahead log in ${dir}: ${(e as Error).message}`,
        { cause: e },
      )
    }
  }

  /** The newest record that reached the disk whole, or null on a fresh node. */
  read(): Uint8Array | null {
    return this.#last
  }

  /** Writes the record and returns once it is on disk. */
  write(record: Uint8Array): void {
    if (record.length === 0) throw new RangeError('an empty write-ahead record means none')
    const seq = this.#seq + 1
    const slot = encodeSlot(seq, record)
    const fd = this.#fds[seq % 2]!
    try {
      writeFully(fd, slot, 0)
      fdatasyncSync(fd)
    } catch (e) {
      throw new StoreError(
        `writing the consensus write-ahead log ${this.files[seq % 2]} failed: ${(e as Error).message}`,
        { cause: e },
      )
    }
    this.#seq = seq
    this.#last = record
  }

  close(): void {
    let failed: unknown = null
    for (const fd of this.#fds.splice(0)) {
      try {
        closeSync(fd)
      } catch (e) {
        failed ??= e
      }
    }
    if (failed !== null) throw failed
  }
}

function encodeSlot(seq: number, record: Uint8Array): Uint8Array {
  const slot = new Uint8Array(HEADER_BYTES + record.length)
  const view = new DataView(slot.buffer)
  view.setUint32(0, MAGIC)
  view.setBigUint64(4, BigInt(seq))
  view.setUint32(12, record.length)
  slot.set(record, HEADER_BYTES)
  slot.set(digest(slot), 16)
  return slot
}

/** Written whole under another name, then renamed: a slot file either exists complete or not. */
function createEmptySlot(file: string): void {
  const tmp = `${file}.new`
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600)
  try {
    const slot = encodeSlot(0, new Uint8Array(0))
    writeFully(fd, slot, 0)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, file)
}

/**
 * Over the sequence and length as well as the record: a write torn so that only a new sequence
 * number landed must not pass for the newest record.
 */
function digest(slot: Uint8Array): Uint8Array {
  return createHash('sha256')
    .update(slot.subarray(4, 16))
    .update(slot.subarray(HEADER_BYTES))
    .digest()
    .subarray(0, 16)
}

/** The slot's record, or null if its bytes do not check (torn or damaged). */
function readSlot(file: string): Slot | null {
  const bytes = readFileSync(file)
  if (bytes.length < HEADER_BYTES) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0) !== MAGIC) return null
  const seq = Number(view.getBigUint64(4))
  const length = view.getUint32(12)
  if (HEADER_BYTES + length > bytes.length) return null
  const slot = bytes.subarray(0, HEADER_BYTES + length)
  if (!Buffer.from(digest(slot)).equals(bytes.subarray(16, HEADER_BYTES))) return null
  return { seq, record: new Uint8Array(slot.subarray(HEADER_BYTES)) }
}

/** A new file's name is durable only once its folder is synced. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
