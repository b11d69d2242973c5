import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { failureOf, quorumNotice } from '../../../renderer/src/state/submit-words.ts'

describe('submit: the quorum notice', () => {
  it('says nothing while the ledger can commit', () => {
    assert.equal(quorumNotice({ hasQuorum: true, online: 3, members: 3 }), null)
    assert.equal(quorumNotice(null), null)
  })

  it('says entries are kept here and commit once machines are back, with the counts', () => {
    assert.equal(
      quorumNotice({ hasQuorum: false, online: 1, members: 3 }),
      'No quorum: 1 of 3 machines online. New entries are kept on this machine and commit once enough machines are back.',
    )
  })
})

describe('submit: what a failed send means', () => {
  it('offers Try again (same key) when the node was not reached, busy, failing or still answering', () => {
    for (const status of [0, 409, 500, 503])
      assert.equal(failureOf(status, 'x').retryable, true, String(status))
  })

  it('does not offer Try again when the node refused the entry itself', () => {
    for (const status of [400, 401, 422])
      assert.equal(failureOf(status, 'x').retryable, false, String(status))
    assert.equal(
      failureOf(400, 'from and to are the same account').text,
      'The node refused this entry: from and to are the same account',
    )
  })

  it('shows the busy node’s own words', () => {
    const busy = 'The node is busy: 50000 entries wait. Try again in a moment.'
    assert.equal(failureOf(503, busy).text, busy)
  })
})
