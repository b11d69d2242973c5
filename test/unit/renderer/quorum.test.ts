import assert from 'node:assert/strict'
import { test } from 'node:test'
import { quorumSummary } from '../../../renderer/src/state/quorum.ts'

test('all three online with a quorum of two can lose one more', () => {
  assert.deepEqual(quorumSummary({ online: 3, members: 3, quorum: 2 }), {
    healthy: true,
    level: 'ok',
    text: '3 of 3 online — can lose 1 more',
  })
})

test('at exactly the quorum no machine may go, and the header warns', () => {
  assert.deepEqual(quorumSummary({ online: 2, members: 3, quorum: 2 }), {
    healthy: true,
    level: 'warn',
    text: '2 of 3 online — cannot lose any more',
  })
})

test('below the quorum the header says nothing commits', () => {
  assert.deepEqual(quorumSummary({ online: 1, members: 3, quorum: 2 }), {
    healthy: false,
    level: 'bad',
    text: '1 of 3 online — waiting for quorum, nothing commits',
  })
})

test('a ledger of one machine is not shown as fragile', () => {
  assert.deepEqual(quorumSummary({ online: 1, members: 1, quorum: 1 }), {
    healthy: true,
    level: 'ok',
    text: '1 of 1 online — a ledger of one machine',
  })
})
