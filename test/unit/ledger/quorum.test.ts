/** Quorum sizes, "can lose N more", and the guard the API runs before submitting a removal. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FaultModel } from '../../../core/ledger/index.ts'
import {
  additionRefusal,
  exceeds,
  faultsTolerated,
  quorumStatus,
  removalRefusal,
  thresholdsFor,
} from '../../../core/ledger/index.ts'

const MODELS: readonly FaultModel[] = ['crash', 'byzantine']
/** Fake ids: only identity matters here, and "m0".."m6" read well in failures. */
const ids = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`)

/** Every subset of `xs`, as sets. */
function subsets(xs: readonly string[]): Set<string>[] {
  return Array.from(
    { length: 2 ** xs.length },
    (_, mask) => new Set(xs.filter((_, i) => (mask >> i) & 1)),
  )
}

test('quorum sizes for n = 1..7: more than half (crash), more than two thirds (byzantine)', () => {
  const expected: Record<FaultModel, number[]> = {
    crash: [1, 2, 2, 3, 3, 4, 4],
    byzantine: [1, 2, 3, 3, 4, 5, 5],
  }
  const canLose: Record<FaultModel, number[]> = {
    crash: [0, 0, 1, 1, 2, 2, 3],
    byzantine: [0, 0, 0, 1, 1, 1, 2],
  }
  for (const model of MODELS) {
    for (let n = 1; n <= 7; n++) {
      const members = ids(n)
      const status = quorumStatus(members, new Set(members), model)
      assert.deepEqual(
        status,
        { quorum: expected[model][n - 1], online: n, canLose: canLose[model][n - 1] },
        `${model} n=${n}`,
      )
      assert.equal(status.canLose, faultsTolerated(n, model), `${model} n=${n}`)
    }
  }
})

test('the quorum is the least count that strictly exceeds the share, and any two quorums overlap safely', () => {
  for (const model of MODELS) {
    const share = thresholdsFor(model).quorum
    for (let n = 1; n <= 7; n++) {
      const { quorum } = quorumStatus(ids(n), new Set(), model)
      assert.ok(exceeds(quorum, n, share), `${model} n=${n}: ${quorum} decides`)
      assert.ok(!exceeds(quorum - 1, n, share), `${model} n=${n}: ${quorum - 1} does not`)
      const overlap = 2 * quorum - n
      // Crash: two quorums share a member. Byzantine: they share more than a third of the weight,
      // so at least one honest member.
      if (model === 'crash') assert.ok(overlap >= 1, `crash n=${n}`)
      else assert.ok(overlap * 3 > n, `byzantine n=${n}`)
    }
  }
})

test('quorumStatus counts members online, ignores strangers and repeats, and never says a negative', () => {
  for (const model of MODELS) {
    for (let n = 1; n <= 7; n++) {
      const members = ids(n)
      for (const online of subsets(members)) {
        const status = quorumStatus(members, online, model)
        assert.equal(status.online, online.size)
        assert.equal(status.canLose, Math.max(0, online.size - status.quorum))
      }
    }
  }
  assert.deepEqual(quorumStatus(['a', 'b', 'c'], new Set(['a', 'b', 'c']), 'crash'), {
    quorum: 2,
    online: 3,
    canLose: 1,
  })
  assert.deepEqual(quorumStatus(['a', 'b', 'c', 'a'], new Set(['a', 'x', 'y']), 'crash'), {
    quorum: 2,
    online: 1,
    canLose: 0,
  })
})

test('removalRefusal agrees with the strict quorum rule on every online set, n = 1..7', () => {
  for (const model of MODELS) {
    const share = thresholdsFor(model).quorum
    for (let n = 1; n <= 7; n++) {
      const members = ids(n)
      for (const online of subsets(members)) {
        for (const removed of members) {
          const rest = members.filter((m) => m !== removed)
          const up = rest.filter((m) => online.has(m)).length
          const refusal = removalRefusal(members, online, model, removed)
          const label = `${model} n=${n} online=${[...online]} removed=${removed}`
          if (n === 1) assert.equal(refusal, 'cannot remove the last member', label)
          else if (exceeds(up, rest.length, share)) assert.equal(refusal, null, label)
          else assert.ok(refusal?.startsWith(`removing member ${removed} would leave`), label)
        }
      }
    }
  }
})

test('removalRefusal explains a refusal in full', () => {
  // Four members, crash mode, m3 unplugged: removing m0 leaves m1, m2 of three online.
  const online = new Set(['m0', 'm1', 'm2'])
  assert.equal(removalRefusal(ids(4), online, 'crash', 'm0'), null)
  // Judged against the set after that removal, removing m1 as well would leave m2 alone.
  assert.equal(
    removalRefusal(['m1', 'm2', 'm3'], online, 'crash', 'm1'),
    'removing member m1 would leave 1 of 2 members online, but the ledger would need 2 online to commit; bring members back online first',
  )
  // Judged against today's four members it looks fine: why the caller must pass the projected set.
  assert.equal(removalRefusal(ids(4), online, 'crash', 'm1'), null)
  // Removing the unplugged member is always fine when the rest can commit.
  assert.equal(removalRefusal(ids(4), online, 'crash', 'm3'), null)
})

test('removalRefusal in byzantine mode: four members survive one removal only with all the rest online', () => {
  const all = new Set(ids(4))
  assert.equal(removalRefusal(ids(4), all, 'byzantine', 'm0'), null)
  const oneDown = new Set(['m0', 'm1', 'm2'])
  assert.equal(
    removalRefusal(ids(4), oneDown, 'byzantine', 'm0'),
    'removing member m0 would leave 2 of 3 members online, but the ledger would need 3 online to commit; bring members back online first',
  )
  assert.equal(removalRefusal(ids(4), oneDown, 'byzantine', 'm3'), null)
})

test('removalRefusal refuses the last member and a non-member', () => {
  for (const model of MODELS) {
    assert.equal(
      removalRefusal(['m0'], new Set(['m0']), model, 'm0'),
      'cannot remove the last member',
    )
    assert.equal(
      removalRefusal(['m0', 'm1'], new Set(['m0', 'm1']), model, 'abcdef0123456789'),
      'member abcdef01 is not a member',
    )
    assert.equal(
      removalRefusal(['m0', 'm0'], new Set(['m0']), model, 'm0'),
      'cannot remove the last member',
    )
  }
})

test("additionRefusal: the members online with the newcomer must reach the larger set's quorum", () => {
  // One member alone: adding a second makes the quorum 2 of 2, so the newcomer must be there.
  assert.equal(additionRefusal(['m0'], new Set(['m0', 'new']), 'crash', 'new'), null)
  assert.match(
    additionRefusal(['m0'], new Set(['m0']), 'crash', 'new') ?? '',
    /would make 2 members with 1 online, but the ledger would need 2 online/,
  )
  // Three members, one unplugged: four need 3, which the newcomer makes.
  assert.equal(additionRefusal(ids(3), new Set(['m0', 'm1', 'new']), 'crash', 'new'), null)
  assert.notEqual(additionRefusal(ids(3), new Set(['m0', 'new']), 'crash', 'new'), null)
  // Byzantine: a fifth member makes the quorum 4 of 5.
  assert.equal(
    additionRefusal(ids(4), new Set(['m0', 'm1', 'm2', 'new']), 'byzantine', 'new'),
    null,
  )
  assert.notEqual(additionRefusal(ids(4), new Set(['m0', 'm1', 'new']), 'byzantine', 'new'), null)
  assert.match(additionRefusal(ids(2), new Set(ids(2)), 'crash', 'm1') ?? '', /is a member already/)
})
