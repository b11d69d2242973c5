/**
 * The consequence of removing a member, stated before anyone confirms it, must follow the
 * ledger's own quorum rule (core/ledger/quorum.ts): a screen that said "can lose 1" where the
 * ledger can lose none would lead people to stop it.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { faultsTolerated, minimumExceeding, thresholdsFor } from '../../../core/ledger/quorum.ts'
import { quorumOf, removalConsequence } from '../../../renderer/src/state/member-quorum.ts'

const ids = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`)

describe('member quorum', () => {
  it('needs the same number of members as the ledger for every size and fault model', () => {
    for (const model of ['crash', 'byzantine'] as const) {
      for (let n = 1; n <= 20; n++) {
        assert.equal(
          quorumOf(n, model),
          minimumExceeding(n, thresholdsFor(model).quorum),
          `${model} n=${n}`,
        )
      }
    }
  })

  it('tolerates the same losses as the ledger after a removal', () => {
    for (const model of ['crash', 'byzantine'] as const) {
      for (let n = 2; n <= 12; n++) {
        const all = ids(n)
        const c = removalConsequence({
          members: all,
          online: new Set(all),
          faultModel: model,
          removed: 'm0',
          name: 'Carol',
        })
        assert.equal(c.remaining, n - 1)
        assert.equal(c.canLose, faultsTolerated(n - 1, model), `${model} n=${n}`)
      }
    }
  })

  it('says a crash ledger of 3 left with 2 needs both and can lose no machine', () => {
    const c = removalConsequence({
      members: ['a', 'b', 'c'],
      online: new Set(['a', 'b', 'c']),
      faultModel: 'crash',
      removed: 'c',
      name: 'Carol',
    })
    assert.equal(
      c.text,
      'After removing Carol, the ledger has 2 members and needs both of them to commit: it can lose no machine.',
    )
    assert.equal(c.blocker, null)
  })

  it('says how many a crash ledger of 5 left with 4 can lose', () => {
    const all = ids(5)
    const c = removalConsequence({
      members: all,
      online: new Set(all),
      faultModel: 'crash',
      removed: 'm4',
      name: 'Eve',
    })
    assert.equal(
      c.text,
      'After removing Eve, the ledger has 4 members and needs 3 of them to commit: it can lose 1 machine.',
    )
  })

  it('counts a byzantine ledger of 4 left with 3 as needing all 3', () => {
    const all = ids(4)
    const c = removalConsequence({
      members: all,
      online: new Set(all),
      faultModel: 'byzantine',
      removed: 'm3',
      name: 'Dan',
    })
    assert.equal(c.quorum, 3)
    assert.equal(c.canLose, 0)
  })

  it('blocks a removal when the members online could not reach the new quorum', () => {
    const c = removalConsequence({
      members: ['a', 'b', 'c'],
      online: new Set(['a']),
      faultModel: 'crash',
      removed: 'c',
      name: 'Carol',
    })
    assert.equal(
      c.blocker,
      'Only 1 of the remaining 2 is online: removing now would stop commits. Bring members back online first.',
    )
  })

  it('does not count the removed member as online for the new quorum', () => {
    // a and c online; removing c leaves a alone of a, b: crash quorum of 2 is 2.
    const c = removalConsequence({
      members: ['a', 'b', 'c'],
      online: new Set(['a', 'c']),
      faultModel: 'crash',
      removed: 'c',
      name: 'Carol',
    })
    assert.equal(c.onlineAfter, 1)
    assert.notEqual(c.blocker, null)
  })

  it('allows removing an offline member when the rest reach the quorum', () => {
    const c = removalConsequence({
      members: ['a', 'b', 'c'],
      online: new Set(['a', 'b']),
      faultModel: 'crash',
      removed: 'c',
      name: 'Carol',
    })
    assert.equal(c.blocker, null)
  })

  it('refuses to remove the last member', () => {
    const c = removalConsequence({
      members: ['a'],
      online: new Set(['a']),
      faultModel: 'crash',
      removed: 'a',
      name: 'Alice',
    })
    assert.equal(c.blocker, 'The last member of a ledger cannot be removed.')
  })

  it('says a ledger left with one member needs it online', () => {
    const c = removalConsequence({
      members: ['a', 'b'],
      online: new Set(['a', 'b']),
      faultModel: 'crash',
      removed: 'b',
      name: 'Bob',
    })
    assert.equal(
      c.text,
      'After removing Bob, the ledger has 1 member and needs it online to commit: it can lose no machine.',
    )
  })
})
