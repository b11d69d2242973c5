/**
 * When main starts the core again after a crash, and when it stops trying
 * (electron/main/restart-policy.ts): a pure policy with the clock passed in.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CORE_EXIT_FATAL } from '../../../core/api/desktop-protocol.ts'
import {
  type CoreExit,
  CRASH_WINDOW_MS,
  exitWords,
  MAX_CRASHES,
  RestartPolicy,
  type RestartVerdict,
} from '../../../electron/main/restart-policy.ts'

const crash: CoreExit = { code: 1, lastWords: null }

function delayOf(v: RestartVerdict): number {
  assert.equal(v.action, 'restart', JSON.stringify(v))
  return v.action === 'restart' ? v.delayMs : -1
}

function reasonOf(v: RestartVerdict): string {
  assert.equal(v.action, 'give-up', JSON.stringify(v))
  return v.action === 'give-up' ? v.reason : ''
}

describe('the restart policy', () => {
  it('doubles the back-off with each crash: 1, 2, 4, 8 s, counting the crashes', () => {
    const p = new RestartPolicy()
    const verdicts = [0, 1, 2, 3].map((i) => p.exited(1_000 * i, crash))
    assert.deepEqual(verdicts.map(delayOf), [1_000, 2_000, 4_000, 8_000])
    assert.deepEqual(
      verdicts.map((v) => (v.action === 'restart' ? v.crashes : 0)),
      [1, 2, 3, 4],
    )
  })

  it('gives up at the fifth crash within two minutes, naming the count and the last exit and words', () => {
    assert.equal(MAX_CRASHES, 5)
    assert.equal(CRASH_WINDOW_MS, 120_000)
    const p = new RestartPolicy()
    for (let i = 0; i < 4; i++) delayOf(p.exited(i * 20_000, crash))
    const reason = reasonOf(p.exited(100_000, { code: 7, lastWords: 'Error: disk full' }))
    assert.match(reason, /5 times/)
    assert.match(reason, /2 minutes/)
    assert.match(reason, /exit code 7/)
    assert.match(reason, /Error: disk full/)
  })

  it('names a signal as the last exit when the process had no exit code', () => {
    const p = new RestartPolicy({ maxCrashes: 1 })
    const reason = reasonOf(p.exited(0, { code: null, lastWords: null }))
    assert.match(reason, /ended by a signal/)
    assert.equal(exitWords({ code: null, lastWords: null }), 'ended by a signal')
    assert.equal(exitWords({ code: 1, lastWords: 'x' }), 'exit code 1')
  })

  it('forgets crashes older than the window: a core that ran a while starts again after 1 s', () => {
    const p = new RestartPolicy()
    for (let i = 0; i < 4; i++) p.exited(i * 1_000, crash)
    // The fifth crash, but the first four are more than two minutes old.
    const later = 3_000 + CRASH_WINDOW_MS + 1
    assert.equal(delayOf(p.exited(later, crash)), 1_000)
    const v = p.exited(later + 1, crash)
    assert.equal(delayOf(v), 2_000)
    assert.equal(v.action === 'restart' ? v.crashes : 0, 2)
  })

  it('gives up at once, with the core words, when it exits with CORE_EXIT_FATAL', () => {
    const p = new RestartPolicy()
    const reason = reasonOf(
      p.exited(0, {
        code: CORE_EXIT_FATAL,
        lastWords: 'the data folder is in use by another Tally',
      }),
    )
    assert.match(reason, /cannot run/)
    assert.match(reason, /the data folder is in use by another Tally/)
    // A fatal exit is not a crash: the count of crashes is untouched.
    assert.equal(delayOf(p.exited(1, crash)), 1_000)
  })

  it('reset() clears the crashes: the next is the first again', () => {
    const p = new RestartPolicy()
    for (let i = 0; i < 4; i++) p.exited(i, crash)
    p.reset()
    const v = p.exited(10, crash)
    assert.equal(delayOf(v), 1_000)
    assert.equal(v.action === 'restart' ? v.crashes : 0, 1)
  })

  it('repeats the last delay when the crash limit is past the delays given', () => {
    const p = new RestartPolicy({ delaysMs: [10, 20], maxCrashes: 10 })
    assert.deepEqual(
      [0, 1, 2, 3].map((t) => delayOf(p.exited(t, crash))),
      [10, 20, 20, 20],
    )
  })

  it('throws on bad options: no delays, a limit below one, an empty window', () => {
    assert.throws(() => new RestartPolicy({ delaysMs: [] }), RangeError)
    assert.throws(() => new RestartPolicy({ maxCrashes: 0 }), RangeError)
    assert.throws(() => new RestartPolicy({ windowMs: 0 }), RangeError)
    assert.throws(() => new RestartPolicy({ windowMs: -1 }), RangeError)
  })

  it('throws on options that are not numbers a policy can count with: NaN, Infinity, fractions', () => {
    assert.throws(() => new RestartPolicy({ windowMs: Number.NaN }), RangeError)
    assert.throws(() => new RestartPolicy({ windowMs: Number.POSITIVE_INFINITY }), RangeError)
    assert.throws(() => new RestartPolicy({ maxCrashes: Number.NaN }), RangeError)
    assert.throws(() => new RestartPolicy({ maxCrashes: 2.5 }), RangeError)
    assert.throws(() => new RestartPolicy({ delaysMs: [1_000, Number.NaN] }), RangeError)
    assert.throws(() => new RestartPolicy({ delaysMs: [-1] }), RangeError)
  })
})
