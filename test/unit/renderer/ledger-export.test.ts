import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { EntryPage, EntryView } from '../../../core/api/types.ts'
import type { Result } from '../../../renderer/src/api/client.ts'
import {
  collectEntries,
  EXPORT_PAGE,
  exportFileName,
} from '../../../renderer/src/state/ledger-export.ts'

/** A node holding `total` entries, seq 1..total, paged newest first as the API pages. */
function fakeNode(total: number, failAt?: number) {
  const asked: { before: number | undefined; limit: number }[] = []
  const read = async (before: number | undefined, limit: number): Promise<Result<EntryPage>> => {
    asked.push({ before, limit })
    if (failAt !== undefined && asked.length === failAt) {
      return { ok: false, status: 0, error: 'the node is not answering' }
    }
    const top = before === undefined ? total : before - 1
    const seqs: number[] = []
    for (let s = top; s >= 1 && seqs.length < limit; s--) seqs.push(s)
    const entries = seqs.map((s) => ({ id: String(s) }) as EntryView)
    const last = seqs[seqs.length - 1]
    return { ok: true, value: { entries, next: last !== undefined && last > 1 ? last : null } }
  }
  return { read, asked }
}

describe('export: reading every page of the view', () => {
  it('follows the cursor with pages of 500 until next is null, newest first', async () => {
    const node = fakeNode(1_234)
    const progress: number[] = []
    const got = await collectEntries(node.read, { onProgress: (n) => progress.push(n) })
    assert.equal(got.ok, true)
    if (!got.ok) return
    assert.equal(got.entries.length, 1_234)
    assert.equal(got.entries[0]?.id, '1234')
    assert.equal(got.entries[1_233]?.id, '1')
    assert.equal(got.truncated, false)
    assert.deepEqual(node.asked, [
      { before: undefined, limit: EXPORT_PAGE },
      { before: 735, limit: EXPORT_PAGE },
      { before: 235, limit: EXPORT_PAGE },
    ])
    assert.deepEqual(progress, [500, 1_000, 1_234])
  })

  it('stops at the cap and says the file holds only the newest', async () => {
    const node = fakeNode(2_000)
    const got = await collectEntries(node.read, { cap: 700 })
    assert.equal(got.ok && got.entries.length, 700)
    assert.equal(got.ok && got.truncated, true)
    assert.deepEqual(
      node.asked.map((a) => a.limit),
      [500, 200],
    )
  })

  it('reports a failed page with how far it got', async () => {
    const got = await collectEntries(fakeNode(2_000, 2).read)
    assert.deepEqual(got, { ok: false, error: 'the node is not answering', got: 500 })
  })

  it('stops when cancelled', async () => {
    let n = 0
    const got = await collectEntries(fakeNode(2_000).read, { cancelled: () => n++ > 0 })
    assert.equal(got.ok, false)
  })

  it('names the file after the ledger and the time, safely', () => {
    assert.equal(
      exportFileName('Front Office / Café', new Date(2026, 2, 5, 14, 15, 2)),
      'tally-front-office-caf-entries-2026-03-05-141502.csv',
    )
    assert.equal(
      exportFileName('***', new Date(2026, 0, 1, 0, 0, 0)),
      'tally-ledger-entries-2026-01-01-000000.csv',
    )
  })
})
