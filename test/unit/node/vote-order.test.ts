/**
 * The order of a node's writes across a height: the vote record of a new height reaches the disk
 * only after the block that ended the height before it. Were it the other way round, a crash in
 * between would restart the node at that block's height with no record of the votes it signed
 * there. A ledger of one member commits alone, so every height passes through this order here.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { decodeWal } from '../../../core/consensus/wal-codec.ts'
import { VoteLog } from '../../../core/store/vote-log.ts'
import { startTestApi, type TestApi, transfer } from '../api/helpers.ts'

describe('a node writing its vote records', () => {
  const write = VoteLog.prototype.write
  let t: TestApi | undefined
  /** For each record written: its height, and whether the block before it was stored by then. */
  const written: { height: number; blockBeforeStored: boolean }[] = []

  before(async () => {
    VoteLog.prototype.write = function (this: VoteLog, record: Uint8Array) {
      const { height } = decodeWal(record)
      const node = t?.node
      if (node !== undefined) {
        written.push({
          height,
          blockBeforeStored: height <= 1 || node.store.blockHeader(height - 1) !== null,
        })
      }
      return write.call(this, record)
    }
    t = await startTestApi({ others: 0 })
  })

  after(async () => {
    VoteLog.prototype.write = write
    await t?.close()
  })

  it('writes the record of height h+1 only once block h is in the database', async () => {
    const api = t!
    // Entries taken in one event-loop turn: alone, the node commits each in a height of its own
    // there and then, so block h and the records of h+1 come out of one run of effects.
    const entries = Array.from({ length: 10 }, (_, n) => transfer(n))
    assert.equal((await api.call('POST', '/api/entries/batch', { entries })).status, 202)
    for (let k = 0; k < 200 && api.node.state.height < 10; k++) {
      await new Promise((r) => setTimeout(r, 10))
    }
    const later = written.filter((w) => w.height >= 2)
    assert.ok(later.length >= 5, `only ${later.length} records past height 1`)
    const early = later.filter((w) => !w.blockBeforeStored).map((w) => w.height)
    assert.deepEqual(early, [], 'records written before the block of the height before them')
  })
})
