/**
 * The mempool bound: without a quorum nothing commits, and past the bound the submit routes
 * answer 503 and store nothing, however the submissions arrive.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { MAX_PENDING } from '../../../core/api/server.ts'
import type { ErrorResponse } from '../../../core/api/types.ts'
import { postTogether, startTestApi, type TestApi, transfer } from './helpers.ts'

const FULL = /too many entries waiting for a block.*cannot reach a quorum.*nothing was stored/

describe('the mempool bound', () => {
  let t: TestApi | undefined

  afterEach(async () => {
    await t?.close()
    t = undefined
  })

  it('is 50,000 unless a test lowers it', () => {
    assert.equal(MAX_PENDING, 50_000)
  })

  it('past the bound POST /api/entries and the batch route answer 503 and store nothing', async () => {
    const api = await startTestApi({ maxPending: 5 })
    t = api
    for (let n = 0; n < 5; n++) {
      const r = await api.call('POST', '/api/entries', transfer(n))
      assert.equal(r.status, 202, JSON.stringify(r.body))
    }
    const before = await t.stored()
    assert.equal(before.length, 5)
    const single = await t.call<ErrorResponse>('POST', '/api/entries', transfer(9))
    assert.equal(single.status, 503)
    assert.match(single.body.error, FULL)
    assert.match(single.body.error, /1 of 3 members online, 2 needed/)
    const batch = await t.call<ErrorResponse>('POST', '/api/entries/batch', {
      entries: [transfer(9)],
    })
    assert.equal(batch.status, 503)
    assert.match(batch.body.error, FULL)
    assert.deepEqual(await t.stored(), before)
    assert.equal(t.node.pending, 5)
    // A bad request is still a 400: the bound does not hide what is wrong with it.
    const bad = await t.call('POST', '/api/entries/batch', { entries: [] })
    assert.equal(bad.status, 400)
  })

  it('a batch that would pass the bound is refused whole; one that fits is stored', async () => {
    t = await startTestApi({ maxPending: 10 })
    const entries = (k: number) => ({ entries: Array.from({ length: k }, (_, n) => transfer(n)) })
    assert.equal((await t.call('POST', '/api/entries/batch', entries(8))).status, 202)
    const over = await t.call<ErrorResponse>('POST', '/api/entries/batch', entries(3))
    assert.equal(over.status, 503)
    assert.match(over.body.error, /\(8, and 3 in this batch; at most 10\)/)
    assert.equal(t.node.pending, 8)
    assert.equal((await t.call('POST', '/api/entries/batch', entries(2))).status, 202)
    assert.equal(t.node.pending, 10)
    assert.equal((await t.stored()).length, 10)
  })

  it('submissions that arrive together cannot squeeze past the bound together', async () => {
    t = await startTestApi({ maxPending: 20 })
    const singles = await postTogether(
      t.api,
      '/api/entries',
      Array.from({ length: 40 }, (_, n) => transfer(n)),
    )
    assert.equal(singles.filter((s) => s === 202).length, 20, singles.join(','))
    assert.equal(singles.filter((s) => s === 503).length, 20, singles.join(','))
    assert.equal(t.node.pending, 20)
    await t.close()

    t = await startTestApi({ maxPending: 20 })
    const batches = await postTogether(
      t.api,
      '/api/entries/batch',
      Array.from({ length: 8 }, () => ({
        entries: Array.from({ length: 6 }, (_, n) => transfer(n)),
      })),
    )
    assert.equal(batches.filter((s) => s === 202).length, 3, batches.join(','))
    assert.equal(batches.filter((s) => s === 503).length, 5, batches.join(','))
    assert.equal(t.node.pending, 18)
    assert.equal((await t.stored()).length, 18)
  })
})
