/**
 * `POST /api/entries/batch` against a real node in this process: stored and answered in order,
 * checked whole before anything is stored, bounded, and behind the token like every route.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { batchAnswer } from '../../../core/api/server.ts'
import type {
  BatchItemErrorResponse,
  BatchPartialResponse,
  BatchResponse,
  EntryView,
} from '../../../core/api/types.ts'
import { SubmitError } from '../../../core/node/index.ts'
import { startTestApi, type TestApi, transfer } from './helpers.ts'

const HASH = /^[0-9a-f]{64}$/

describe('POST /api/entries/batch', () => {
  let t: TestApi

  before(async () => {
    t = await startTestApi()
  })

  after(async () => {
    await t?.close()
  })

  /** Posts a batch that must be refused whole, and checks that nothing was stored. */
  async function refused(body: unknown, status: number, message: RegExp, index?: number) {
    const before = await t.stored()
    const pending = t.node.pending
    const r = await t.call<BatchItemErrorResponse>('POST', '/api/entries/batch', body)
    assert.equal(r.status, status, JSON.stringify(r.body))
    assert.match(r.body.error, message)
    assert.equal(r.body.index, index)
    assert.deepEqual(await t.stored(), before, 'a refused batch stored something')
    assert.equal(t.node.pending, pending)
  }

  it('stores every entry and answers their ids in request order', async () => {
    const items = Array.from({ length: 25 }, (_, n) => transfer(n, `batch ${n}`))
    const before = (await t.stored()).length
    const r = await t.call<BatchResponse>('POST', '/api/entries/batch', { entries: items })
    assert.equal(r.status, 202, JSON.stringify(r.body))
    assert.equal(r.body.entries.length, items.length)
    assert.equal(new Set(r.body.entries.map((e) => e.id)).size, items.length)
    for (const [n, res] of r.body.entries.entries()) {
      assert.match(res.id, HASH)
      assert.equal(res.status, 'submitted')
      assert.deepEqual(Object.keys(res).sort(), ['id', 'status'])
      // Each id is the entry made of the item at the same position.
      const e = await t.call<EntryView>('GET', `/api/entries/${res.id}`)
      assert.equal(e.status, 200)
      assert.ok(e.body.kind === 'transfer')
      assert.equal(e.body.memo, `batch ${n}`)
      assert.equal(e.body.amount, String(n + 1))
      assert.equal(e.body.to, items[n]!.to)
      assert.equal(e.body.local, true)
    }
    assert.equal((await t.stored()).length, before + items.length)
  })

  it('takes 1,000 entries with the longest memos in one request', async () => {
    const before = (await t.stored()).length
    const memo = '😀'.repeat(280)
    const items = Array.from({ length: 1_000 }, (_, n) => ({ ...transfer(n), memo }))
    const r = await t.call<BatchResponse>('POST', '/api/entries/batch', { entries: items })
    assert.equal(r.status, 202, JSON.stringify(r.body).slice(0, 300))
    assert.equal(r.body.entries.length, 1_000)
    assert.equal(t.node.pending, before + 1_000)
  })

  it('a malformed item is a 400 naming its index and field, and nothing of the batch is stored', async () => {
    const items = (bad: unknown, at: number, length = 10) =>
      Array.from({ length }, (_, n) => (n === at ? bad : transfer(n)))
    await refused(
      { entries: items({ ...transfer(7), amount: 1.5 }, 7) },
      400,
      /^entries\[7\]: "amount" must be a positive integer/,
      7,
    )
    await refused(
      { entries: items({ ...transfer(3), extra: 1 }, 3) },
      400,
      /^entries\[3\]: unknown field "extra"/,
      3,
    )
    await refused(
      { entries: items({ ...transfer(0), to: 5 }, 0) },
      400,
      /^entries\[0\]: "to" must be a string/,
      0,
    )
    await refused({ entries: items('a string', 2) }, 400, /^entries\[2\] must be a JSON object/, 2)
    await refused({ entries: items(null, 9) }, 400, /^entries\[9\] must be a JSON object/, 9)
    // The last of 1,000: every item is read before any is submitted.
    await refused(
      { entries: items({ ...transfer(1), amount: '0' }, 999, 1_000) },
      400,
      /^entries\[999\]: "amount"/,
      999,
    )
  })

  it("an item the ledger's rule refuses is a 400 naming it before anything is stored", async () => {
    const items = (bad: unknown, at: number) =>
      Array.from({ length: 6 }, (_, n) => (n === at ? bad : transfer(n)))
    await refused(
      { entries: items({ ...transfer(4), from: 'alice', to: 'alice' }, 4) },
      400,
      /^entries\[4\]: from and to are the same account/,
      4,
    )
    await refused(
      { entries: items({ ...transfer(5), asset: 'eur' }, 5) },
      400,
      /^entries\[5\]: asset "eur"/,
      5,
    )
    await refused(
      { entries: items({ ...transfer(1), memo: 'x'.repeat(281) }, 1) },
      400,
      /^entries\[1\]: memo is 281 characters/,
      1,
    )
    await refused(
      { entries: items({ ...transfer(2), amount: '9223372036854775808' }, 2) },
      400,
      /^entries\[2\]: amount .* exceeds the maximum/,
      2,
    )
  })

  it('more than 1,000 entries, none, or a body of another shape is a 400 and stores nothing', async () => {
    const many = Array.from({ length: 1_001 }, (_, n) => transfer(n, ''))
    await refused({ entries: many }, 400, /1 to 1000 transfers, not 1001/)
    await refused({ entries: [] }, 400, /1 to 1000 transfers, not 0/)
    await refused({}, 400, /"entries" must be an array/)
    await refused({ entries: { 0: transfer(0) } }, 400, /"entries" must be an array/)
    await refused({ entries: [transfer(0)], dryRun: true }, 400, /unknown field "dryRun"/)
    await refused([transfer(0)], 400, /must be a JSON object \{"entries"/)
    await refused('{"entries": [', 400, /not JSON/)
  })

  it('without the token, or with a wrong one, is a 401 and stores nothing', async () => {
    const before = await t.stored()
    for (const token of [null, 'wrong-token']) {
      const r = await t.call('POST', '/api/entries/batch', { entries: [transfer(1)] }, token)
      assert.equal(r.status, 401)
      assert.deepEqual(r.body, { error: 'missing or wrong bearer token' })
    }
    assert.deepEqual(await t.stored(), before)
  })

  it('takes POST only', async () => {
    const r = await t.call('GET', '/api/entries/batch')
    assert.equal(r.status, 405)
  })
})

describe('POST /api/entries/batch at a node the ledger refuses', () => {
  let t: TestApi

  before(async () => {
    t = await startTestApi({ notMember: true })
  })

  after(async () => {
    await t?.close()
  })

  it('answers 400 with each item refused, in order, and stores nothing', async () => {
    const r = await t.call<BatchPartialResponse>('POST', '/api/entries/batch', {
      entries: [transfer(0), transfer(1), transfer(2)],
    })
    assert.equal(r.status, 400, JSON.stringify(r.body))
    assert.match(r.body.error, /refused every entry.*nothing was stored/)
    assert.equal(r.body.entries.length, 3)
    for (const e of r.body.entries) {
      assert.ok('error' in e && !('id' in e), JSON.stringify(e))
      assert.match(e.error, /not a member/)
    }
    assert.deepEqual(await t.stored(), [])
  })
})

describe('batchAnswer: what a batch the node took answers', () => {
  const ok = (n: number): PromiseSettledResult<{ id: string; status: 'submitted' }> => ({
    status: 'fulfilled',
    value: { id: String(n).repeat(64), status: 'submitted' },
  })
  const no = (e: Error): PromiseRejectedResult => ({ status: 'rejected', reason: e })

  it('202 with the results in order when every item is stored', () => {
    assert.deepEqual(batchAnswer([ok(1), ok(2)]), [
      202,
      {
        entries: [
          { id: '1'.repeat(64), status: 'submitted' },
          { id: '2'.repeat(64), status: 'submitted' },
        ],
      },
    ])
  })

  it('207 with every item when some are stored and some refused: none is dropped', () => {
    const [status, body] = batchAnswer([ok(1), no(new SubmitError('refused')), ok(3)])
    assert.equal(status, 207)
    assert.match(body.error, /1 of 3 entries were not stored/)
    assert.deepEqual((body as BatchPartialResponse).entries, [
      { id: '1'.repeat(64), status: 'submitted' },
      { error: 'refused' },
      { id: '3'.repeat(64), status: 'submitted' },
    ])
  })

  it('400 when the ledger refused all, 500 when the node failed', () => {
    const refused = batchAnswer([no(new SubmitError('a')), no(new SubmitError('b'))])
    assert.equal(refused[0], 400)
    assert.deepEqual((refused[1] as BatchPartialResponse).entries, [{ error: 'a' }, { error: 'b' }])
    const failed = batchAnswer([no(new SubmitError('a')), no(new Error('disk I/O error'))])
    assert.equal(failed[0], 500)
    assert.deepEqual((failed[1] as BatchPartialResponse).entries, [
      { error: 'a' },
      { error: 'disk I/O error' },
    ])
  })
})
