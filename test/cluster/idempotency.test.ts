/**
 * A real `tally node` killed after answering a keyed submission: the key was written with the
 * entry, so after the restart a retry with it gets the first answer and the ledger holds one entry.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, test } from 'node:test'
import type { EntryPage } from '../../core/api/types.ts'
import { Cluster, until } from './harness.ts'

const c = Cluster.create({ nodes: 1 })
after(() => c.destroy())

async function post(path: string, key: string, body: unknown) {
  const r = c.ready(0)
  const res = await fetch(`${r.api}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${r.token}`,
      'content-type': 'application/json',
      'idempotency-key': key,
    },
    body: JSON.stringify(body),
  })
  return {
    status: res.status,
    body: (await res.json()) as unknown,
    replayed: res.headers.get('idempotent-replayed') === 'true',
  }
}

test('a submission retried with its key after the node was SIGKILLed and restarted makes one entry', async () => {
  await c.start(0)
  const memo = `keyed ${randomUUID()}`
  const transfer = { from: '@bank', to: 'alice', asset: 'EUR', amount: 1250, memo }
  const batch = { entries: [1, 2].map((n) => ({ ...transfer, memo: `${memo} ${n}` })) }
  const key = randomUUID()
  const batchKey = randomUUID()
  const first = await post('/api/entries', key, transfer)
  const firstBatch = await post('/api/entries/batch', batchKey, batch)
  assert.equal(first.status, 202, JSON.stringify(first.body))
  assert.equal(firstBatch.status, 202, JSON.stringify(firstBatch.body))

  await c.kill(0, 'SIGKILL')
  await c.start(0)

  const again = await post('/api/entries', key, transfer)
  const againBatch = await post('/api/entries/batch', batchKey, batch)
  assert.deepEqual(again, { ...first, replayed: true })
  assert.deepEqual(againBatch, { ...firstBatch, replayed: true })
  const page = await until('the entries are listed', async () => {
    const p = await c.call<EntryPage>(0, 'GET', `/api/entries?q=${encodeURIComponent(memo)}`)
    return p.entries.length > 0 ? p : undefined
  })
  assert.equal(page.entries.length, 3, JSON.stringify(page.entries.map((e) => e.id)))
})
