/**
 * Opening the vote log beside its database. The slot files may be made only for a database that
 * is new: no block stored, no write-ahead record kept in it (older versions did), and no vote log
 * made for it before. The last is a mark in the database, set once the log exists, so that a
 * node which voted but has not yet committed a block still misses its log after losing it.
 */
import type { Store } from './store.ts'
import { VoteLog } from './vote-log.ts'

/** Meta key marking that this database has had a vote log. */
const MADE = 'vote-log'
/** Where versions before the vote log kept the consensus write-ahead record. */
const OLD_RECORD = 'wal'

export function isNewDatabase(store: Store): boolean {
  return store.height() === 0 && store.getMeta(MADE) === null && store.getMeta(OLD_RECORD) === null
}

/**
 * The vote log in `dir`, made if the database is new and refused (StoreError, naming the
 * missing files) if it is not. Marks the database once the log exists: the mark is written
 * after the files, so a crash in between leaves files without a mark, which opens fine.
 */
export function openVoteLog(store: Store, dir: string): VoteLog {
  const log = VoteLog.open(dir, { create: isNewDatabase(store) })
  try {
    if (store.getMeta(MADE) === null) store.setMeta(MADE, new Uint8Array([1]))
  } catch (e) {
    log.close()
    throw e
  }
  return log
}
