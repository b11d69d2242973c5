/**
 * Gossip publishes the node has handed to the network and that have not finished are bounded:
 * the network runs them one at a time and holds each back while a peer is slow, so a node that
 * kept handing over more would queue them in memory without end.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Net } from '../../../core/net/host.ts'
import { startTestApi, type TestApi, transfer } from '../api/helpers.ts'

describe('a node whose gossip publishes do not finish', () => {
  const publish = Net.prototype.publish
  let t: TestApi | undefined
  let started = 0

  before(async () => {
    // A peer that never drains: no publish completes.
    Net.prototype.publish = () => {
      started++
      return new Promise(() => {})
    }
    t = await startTestApi({ others: 2 })
  })

  after(async () => {
    Net.prototype.publish = publish
    await t?.close()
  })

  it('hands over at most 32 publishes (16 of entries), however many entries arrive', async () => {
    const api = t!
    for (let n = 0; n < 60; n++) {
      assert.equal((await api.call('POST', '/api/entries', transfer(n))).status, 202)
      await new Promise((r) => setTimeout(r, 5))
    }
    assert.ok(started > 0, 'nothing was published at all')
    assert.ok(started <= 32, `${started} publishes under way`)
  })
})
