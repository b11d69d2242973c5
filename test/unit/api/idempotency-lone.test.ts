/**
 * A lone member commits what it is given inside submit, and the record of its next height syncs
 * whatever is queued by then. A key's record must still share its entries' transaction: were it
 * written in a later one, a power cut between the two would keep the entries without the key,
 * and the client's retry would store them a second time.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Store } from '../../../core/store/store.ts'
import { startTestApi, type TestApi, TOKEN, transfer } from './helpers.ts'

describe('a keyed batch on a ledger of one member', () => {
  const transaction = Store.prototype.transaction
  let t: TestApi | undefined
  /** For each write of interest, the number of the transaction it ran in. */
  const writes: { what: string; tx: number }[] = []
  let tx = 0

  before(async () => {
    Store.prototype.transaction = function <T>(this: Store, fn: () => T, durable?: boolean): T {
      tx++
      return transaction.call(this, fn, durable) as T
    }
    t = await startTestApi({ others: 0 })
    const store = t.node.store
    const putEntry = store.putEntry.bind(store)
    store.putEntry = (entry, local, now) => {
      if (local) writes.push({ what: `entry ${entry.id}`, tx })
      return putEntry(entry, local, now)
    }
    const put = store.keys.put.bind(store.keys)
    store.keys.put = (record, now) => {
      writes.push({ what: `key ${record.key}`, tx })
      put(record, now)
    }
  })

  after(async () => {
    Store.prototype.transaction = transaction
    await t?.close()
  })

  it('writes the key in the transaction of every entry it answers for, and answers as a retry will', async () => {
    const api = t!
    const post = () =>
      fetch(`${api.api.url}/api/entries/batch`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          'idempotency-key': 'lone-1',
        },
        body: JSON.stringify({ entries: Array.from({ length: 5 }, (_, n) => transfer(n)) }),
      })
    const first = await post()
    assert.equal(first.status, 202)
    const key = writes.find((w) => w.what === 'key lone-1')
    assert.ok(key !== undefined, 'no key record written')
    const entries = writes.filter((w) => w.what.startsWith('entry'))
    assert.equal(entries.length, 5)
    for (const e of entries)
      assert.equal(e.tx, key.tx, `${e.what} and the key in different transactions`)
    const again = await post()
    assert.equal(again.headers.get('idempotent-replayed'), 'true')
    assert.deepEqual(await again.json(), await first.json())
  })
})
