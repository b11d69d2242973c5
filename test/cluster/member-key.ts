/**
 * A member's key, read from its data folder: what a rogue holds when a machine of the office has
 * gone bad or its key was stolen. The member must not be running (SQLite would let the read
 * through, but two processes under one key are not a machine gone bad, only a confusion).
 */
import { join } from 'node:path'
import { DB_FILE } from '../../core/node/node.ts'
import { Store } from '../../core/store/store.ts'

export function memberSeed(dir: string): Uint8Array {
  const store = Store.open(join(dir, DB_FILE))
  try {
    const seed = store.getMeta('node-seed')
    if (seed === null) throw new Error(`no node key in ${dir}`)
    return seed
  } finally {
    store.close()
  }
}
