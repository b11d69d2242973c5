/**
 * `Idempotency-Key` on the submit routes, against a real node in this process: a retry with the
 * key gets the first answer and stores nothing, across a restart too; another request with the
 * key is refused; a request that stored nothing keeps no key; keys expire.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterEach, describe, it } from 'node:test'
import { batchKeyAnswer, entryAnswer, KEEP_ALIVE_MS } from '../../../core/api/server.ts'
import { DB_FILE } from '../../../core/node/index.ts'
import { KEY_TTL_MS, Store } from '../../../core/store/index.ts'
import { postTogether, startTestApi, type TestApi, TOKEN, transfer } from './helpers.ts'

const ID = 'a'.repeat(64)

interface Answer {
  status: number
  body: Record<string, unknown>
  replayed: boolean
}

/** POSTs `body` with the key; the answer's status, JSON and whether it was a replay. */
async function post(t: TestApi, path: string, key: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${t.api.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
      'idempotency-key': key,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    replayed: res.headers.get('idempotent-replayed') === 'true',
  }
}

describe('Idempotency-Key', () => {
  const open: TestApi[] = []
  const start = async (o: Parameters<typeof startTestApi>[0] = {}) => {
    const t = await startTestApi(o)
    open.push(t)
    return t
  }

  afterEach(async () => {
    for (const t of open.splice(0)) await t.close()
  })

  it('the same key and body get the first answer again and store nothing more', async () => {
    const t = await start()
    const key = randomUUID()
    const first = await post(t, '/api/entries', key, transfer(1))
    assert.equal(first.status, 202, JSON.stringify(first.body))
    assert.equal(first.replayed, false)
    const again = await post(t, '/api/entries', key, transfer(1))
    assert.equal(again.status, 202)
    assert.deepEqual(again.body, first.body)
    assert.equal(again.replayed, true)
    assert.equal((await t.stored()).length, 1)
    assert.equal(t.node.pending, 1)

    const batchKey = randomUUID()
    const batch = { entries: [transfer(2), transfer(3)] }
    const b1 = await post(t, '/api/entries/batch', batchKey, batch)
    assert.equal(b1.status, 202, JSON.stringify(b1.body))
    const b2 = await post(t, '/api/entries/batch', batchKey, batch)
    assert.equal(b2.status, 202)
    assert.deepEqual(b2.body, b1.body)
    assert.equal(b2.replayed, true)
    assert.equal((await t.stored()).length, 3)
  })

  it('the same key with another body or route is a 422 naming the conflict, and stores nothing', async () => {
    const t = await start()
    const key = randomUUID()
    assert.equal((await post(t, '/api/entries', key, transfer(1))).status, 202)
    const other = await post(t, '/api/entries', key, transfer(2))
    assert.equal(other.status, 422)
    assert.match(
      String(other.body.error),
      /was used at .* for a POST \/api\/entries with another body/,
    )
    // The same JSON written another way is another body: the key stands for the bytes sent.
    const spaced = await post(t, '/api/entries', key, JSON.stringify(transfer(1), null, 2))
    assert.equal(spaced.status, 422)
    const route = await post(t, '/api/entries/batch', key, { entries: [transfer(1)] })
    assert.equal(route.status, 422)
    assert.match(
      String(route.body.error),
      /was used for POST \/api\/entries at .*, and this is POST \/api\/entries\/batch/,
    )
    assert.equal((await t.stored()).length, 1)
  })

  it('requests with one key that arrive together make one entry; the others get 409', async () => {
    const t = await start()
    const key = randomUUID()
    const statuses = await postTogether(
      t.api,
      '/api/entries',
      Array.from({ length: 8 }, () => transfer(5)),
      { 'Idempotency-Key': key },
    )
    assert.equal(statuses.filter((s) => s === 202).length, 1, statuses.join(','))
    assert.equal(statuses.filter((s) => s === 409).length, 7, statuses.join(','))
    assert.equal((await t.stored()).length, 1)
    // Once the first is answered, a retry gets its answer.
    const retry = await post(t, '/api/entries', key, transfer(5))
    assert.equal(retry.status, 202)
    assert.equal(retry.replayed, true)
    assert.equal((await t.stored()).length, 1)
  })

  it('a request that stores nothing (400, refused, 503) keeps no key, so a fixed retry with it is stored', async () => {
    const t = await start({ maxPending: 2 })
    const key = randomUUID()
    const malformed = await post(t, '/api/entries', key, { ...transfer(1), amount: 1.5 })
    assert.equal(malformed.status, 400)
    // Checked by the node itself, on the path that writes keys: from = to.
    const refused = await post(t, '/api/entries', key, { ...transfer(1), to: '@bank' })
    assert.equal(refused.status, 400, JSON.stringify(refused.body))
    const badBatch = await post(t, '/api/entries/batch', key, {
      entries: [{ ...transfer(1), to: '@bank' }],
    })
    assert.equal(badBatch.status, 400)
    assert.equal(t.node.keyRecord(key), null)
    const fixed = await post(t, '/api/entries', key, transfer(1))
    assert.equal(fixed.status, 202, JSON.stringify(fixed.body))
    assert.equal(fixed.replayed, false)

    assert.equal((await post(t, '/api/entries', randomUUID(), transfer(2))).status, 202)
    const fullKey = randomUUID()
    const full = await post(t, '/api/entries', fullKey, transfer(3))
    assert.equal(full.status, 503)
    assert.equal(t.node.keyRecord(fullKey), null)
    assert.equal((await t.stored()).length, 2)
  })

  it('a malformed key is a 400 and stores nothing', async () => {
    const t = await start()
    for (const key of ['x'.repeat(256), 'tab\there', 'caf\u00e9']) {
      const r = await post(t, '/api/entries', key, transfer(1))
      assert.equal(r.status, 400, key)
      assert.match(String(r.body.error), /Idempotency-Key is 1 to 255 printable ASCII/)
    }
    const twice = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify(transfer(1))
      const req = request(
        `${t.api.url}/api/entries`,
        {
          method: 'POST',
          headers: [
            'authorization',
            `Bearer ${TOKEN}`,
            'content-type',
            'application/json',
            'idempotency-key',
            'one',
            'idempotency-key',
            'two',
          ],
        },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      req.end(body)
    })
    assert.equal(twice, 400)
    // The longest key, and the draft's quoted form, are keys like any other.
    assert.equal((await post(t, '/api/entries', 'k'.repeat(255), transfer(2))).status, 202)
    assert.equal((await post(t, '/api/entries', `"${randomUUID()}"`, transfer(3))).status, 202)
    assert.equal((await t.stored()).length, 2)
  })

  it('a key survives a restart of the node and gives the first answer, with no second entry', async () => {
    const first = await start({ keep: true })
    const key = randomUUID()
    const batchKey = randomUUID()
    const batch = { entries: [transfer(2), transfer(3)] }
    const a1 = await post(first, '/api/entries', key, transfer(1))
    const b1 = await post(first, '/api/entries/batch', batchKey, batch)
    assert.equal(a1.status, 202)
    assert.equal(b1.status, 202)
    await first.close()
    open.splice(open.indexOf(first), 1)

    const second = await start({ dir: first.dir })
    const a2 = await post(second, '/api/entries', key, transfer(1))
    const b2 = await post(second, '/api/entries/batch', batchKey, batch)
    assert.deepEqual([a2.status, a2.body, a2.replayed], [202, a1.body, true])
    assert.deepEqual([b2.status, b2.body, b2.replayed], [202, b1.body, true])
    assert.equal((await second.stored()).length, 3)
    assert.equal(second.node.pending, 3)
  })

  it('a key is written in the transaction of its entries: a failed key write keeps neither', async () => {
    const first = await start({ keep: true })
    first.node.store.keys.put = () => {
      throw new Error('disk full (test)')
    }
    const failed = await post(first, '/api/entries', randomUUID(), transfer(1))
    assert.equal(failed.status, 500, JSON.stringify(failed.body))
    await first.close()
    open.splice(open.indexOf(first), 1)
    const second = await start({ dir: first.dir })
    assert.deepEqual(await second.stored(), [])
  })

  it('keys older than 24 hours are pruned when the node starts; newer ones stay', async () => {
    const first = await start({ keep: true })
    await first.close()
    open.splice(open.indexOf(first), 1)
    const store = Store.open(join(first.dir, DB_FILE))
    const now = Date.now()
    const record = (key: string) => ({
      key,
      request: 'POST /api/entries',
      fingerprint: new Uint8Array(32),
      status: 202,
      answer: JSON.stringify({ id: ID, status: 'submitted' }),
    })
    try {
      store.keys.put(record('old'), now - KEY_TTL_MS - 60_000)
      store.keys.put(record('recent'), now - KEY_TTL_MS + 60 * 60_000)
    } finally {
      store.close()
    }
    const second = await start({ dir: first.dir })
    assert.equal(second.node.keyRecord('old'), null)
    assert.equal(second.node.keyRecord('recent')?.status, 202)
    // The expired key is free again: a request with it is stored, not answered from the past.
    const r = await post(second, '/api/entries', 'old', transfer(1))
    assert.equal(r.status, 202)
    assert.equal(r.replayed, false)
  })

  it('a partly stored batch keeps its 207 for retries; a batch refused whole keeps nothing', () => {
    const stored = { id: ID, status: 'submitted' } as const
    const partial = batchKeyAnswer([stored, { error: 'not a member' }])
    assert.equal(partial?.status, 207)
    assert.deepEqual(JSON.parse(partial!.body).entries, [stored, { error: 'not a member' }])
    assert.equal(batchKeyAnswer([{ error: 'no' }, { error: 'no' }]), null)
    assert.equal(batchKeyAnswer([stored])?.status, 202)
    assert.equal(entryAnswer([{ error: 'no' }]), null)
    assert.deepEqual(JSON.parse(entryAnswer([stored])!.body), stored)
  })

  it('keeps idle connections open longer than clients keep theirs, and says so', async () => {
    const t = await start()
    const res = await fetch(`${t.api.url}/api/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    await res.arrayBuffer()
    assert.ok(KEEP_ALIVE_MS > 60_000)
    assert.equal(res.headers.get('keep-alive'), `timeout=${KEEP_ALIVE_MS / 1000}`)
  })
})
