/**
 * A few thousand cases of the fuzzer (`npm run fuzz` runs 100,000 and more), on a fixed seed so
 * that a failure here replays: every decoder of outside or on-disk input refuses damage with its
 * own error and never anything else, allocates no more than its input justifies, and accepts
 * only what re-encodes to the same bytes. Cases the fuzzer found are kept below as seeds.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type FuzzTarget, replay, runTarget } from '../fuzz/engine.ts'
import { crashLines } from '../fuzz/report.ts'
import { roundTrip } from '../fuzz/targets/wal.ts'
import { budget, TARGETS } from '../fuzz/targets.ts'
import { runWalk, type Walk } from '../fuzz/walks.ts'

const CASES = 4_000
const SEED = 20_240_608

function targetNamed(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name)
  assert.ok(t, `no fuzz target ${name}`)
  return t
}

budget(TARGETS, CASES).forEach((share, i) => {
  const t = TARGETS[i]!
  test(`${t.name}: random and mutated input is refused with the decoder's own error or read back exactly, within bounds (${share} cases)`, () => {
    const r = runTarget(t, share, SEED + i)
    assert.equal(r.crashes.length, 0, r.crashes.flatMap((c) => crashLines(t.name, c)).join('\n'))
    assert.equal(r.cases, share)
  })
})

// Found by `npm run fuzz` while the write-ahead record's reader took a vote to be at least 146
// bytes (a nil vote is 142): a node whose own votes at a height were nil, with no proposal of its
// own, wrote a record it could not read back and would not restart.
const nilVotesOnly: readonly Walk[] = [
  {
    model: 'crash',
    size: 3,
    self: 0,
    waitForWork: false,
    moves: [
      { kind: 'timeout', which: 'propose', ahead: 0 },
      { kind: 'quorum', type: 'prevote', block: null },
    ],
  },
  {
    model: 'crash',
    size: 3,
    self: 0,
    waitForWork: false,
    moves: [
      { kind: 'vote', type: 'prevote', from: 0, ahead: 0, block: null },
      { kind: 'timeout', which: 'propose', ahead: 0 },
    ],
  },
]

test('a write-ahead record of nil votes and no proposal, as when the proposer is down, reads back (fuzz regression)', () => {
  for (const walk of nilVotesOnly) runWalk(walk, roundTrip, roundTrip)
  const machine = targetNamed('wal round trip (machine)')
  for (const [seed, path] of [
    [2_027_808_486, '26:6:4:0:0:0:2'],
    [2, '8:6:0:1:1:1:1:4:2:2:3:6:0:0:0:0:1:1:2'],
  ] as const) {
    assert.equal(replay(machine, seed, path), null, `seed ${seed} path ${path}`)
  }
})
