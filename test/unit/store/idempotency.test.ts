/** The idempotency keys table: the first answer stands, and the table stays bounded. */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import { IdempotencyKeys, KEY_TTL_MS, MAX_KEY_RECORDS } from '../../../core/store/idempotency.ts'
import { migrate, SCHEMA_VERSION } from '../../../core/store/migrations.ts'
import { Store } from '../../../core/store/store.ts'
import { tempDirs } from './helpers.ts'

const temp = tempDirs()
after(() => temp.cleanup())

function record(key: string, answer = '{"id":"x"}') {
  return {
    key,
    request: 'POST /api/entries',
    fingerprint: new Uint8Array(32).fill(7),
    status: 202,
    answer,
  }
}

/** Keys on an in-memory database with small limits. */
function smallKeys(limits: { ttlMs: number; maxRecords: number }) {
  const db = new Database(':memory:')
  migrate(db)
  return { db, keys: new IdempotencyKeys(db, ':memory:', limits) }
}

describe('idempotency keys', () => {
  it('keep at least 24 hours and at most 100,000 rows', () => {
    assert.equal(KEY_TTL_MS, 24 * 60 * 60 * 1000)
    assert.equal(MAX_KEY_RECORDS, 100_000)
  })

  it('a key is read back as stored, and the first record stands when the key comes again', () => {
    const store = Store.open(join(temp.dir(), 'tally.db'))
    try {
      store.keys.put(record('k1', '{"first":true}'), 1_000)
      store.keys.put({ ...record('k1', '{"second":true}'), status: 207 }, 2_000)
      assert.deepEqual(store.keys.get('k1'), { ...record('k1', '{"first":true}'), created: 1_000 })
      assert.equal(store.keys.get('k2'), null)
    } finally {
      store.close()
    }
  })

  it('past the cap the oldest keys go first, whatever their age', () => {
    const { db, keys } = smallKeys({ ttlMs: KEY_TTL_MS, maxRecords: 5 })
    for (let n = 0; n < 8; n++) keys.put(record(`k${n}`), 1_000 + n)
    const left = db.prepare('SELECT key FROM idempotency_keys ORDER BY seq').pluck().all()
    assert.deepEqual(left, ['k3', 'k4', 'k5', 'k6', 'k7'])
    db.close()
  })

  it('keys past their time to live are pruned, by `prune` and by writing a key', () => {
    const { db, keys } = smallKeys({ ttlMs: 1_000, maxRecords: 100 })
    keys.put(record('a'), 0)
    keys.put(record('b'), 500)
    assert.equal(keys.prune(1_200), 1)
    assert.equal(keys.get('a'), null)
    assert.notEqual(keys.get('b'), null)
    // Writing prunes too, at most once a minute: not at 30 s, but a minute after the last prune.
    keys.put(record('c'), 30_000)
    assert.notEqual(keys.get('b'), null)
    keys.put(record('d'), 61_300)
    assert.equal(keys.get('b'), null)
    assert.equal(keys.get('c'), null)
    assert.notEqual(keys.get('d'), null)
    db.close()
  })

  it('a database from before the keys table gains it when opened', () => {
    const file = join(temp.dir(), 'tally.db')
    const raw = new Database(file)
    migrate(raw, 1)
    raw.close()
    const store = Store.open(file)
    try {
      store.keys.put(record('k'), 1)
      assert.equal(store.keys.get('k')?.created, 1)
    } finally {
      store.close()
    }
    const check = new Database(file, { readonly: true })
    assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION)
    check.close()
  })
})
