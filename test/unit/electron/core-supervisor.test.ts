/**
 * The core's utility process kept running (electron/main/core-supervisor.ts), with a hand-made
 * child in place of Electron's `UtilityProcess` and a clock and timers the test moves by hand.
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { describe, it } from 'node:test'
import {
  CORE_EXIT_FATAL,
  type CoreSummary,
  type MainToCore,
} from '../../../core/api/desktop-protocol.ts'
import {
  type CoreChild,
  type CoreLife,
  CoreSupervisor,
  KILL_GRACE_MS,
  lastWords,
  STOP_TIMEOUT_MS,
} from '../../../electron/main/core-supervisor.ts'
import { RESTART_DELAYS_MS, RestartPolicy } from '../../../electron/main/restart-policy.ts'

/** A port, as far as the supervisor sees one: it only hands it on. */
type FakePort = { readonly name: string }

class FakeChild extends EventEmitter implements CoreChild<FakePort> {
  readonly posted: { message: MainToCore; transfer: FakePort[] | undefined }[] = []
  kills = 0
  readonly stderr = new EventEmitter()

  postMessage(message: MainToCore, transfer?: FakePort[]): void {
    this.posted.push({ message, transfer })
  }
  kill(): boolean {
    this.kills++
    return true
  }
  /** The process started: Electron's `spawn`. */
  spawned(): void {
    this.emit('spawn')
  }
  says(message: unknown): void {
    this.emit('message', message)
  }
  exits(code: number): void {
    this.emit('exit', code)
  }
  writes(text: string): void {
    this.stderr.emit('data', Buffer.from(text))
  }
}

/** A clock and timers that move only when told. */
class FakeTime {
  now = 1_000_000
  #next = 1
  #timers: { id: number; at: number; fn: () => void }[] = []

  set = (fn: () => void, ms: number): unknown => {
    const id = this.#next++
    this.#timers.push({ id, at: this.now + ms, fn })
    return id
  }
  clear = (id: unknown): void => {
    this.#timers = this.#timers.filter((t) => t.id !== id)
  }
  get pending(): number {
    return this.#timers.length
  }
  /** Moves the clock by `ms`, running each timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.now + ms
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      this.#timers = this.#timers.filter((t) => t !== due)
      this.now = due.at
      due.fn()
    }
    this.now = end
  }
}

function setup() {
  const time = new FakeTime()
  const children: FakeChild[] = []
  const logged: string[] = []
  const changes: { life: CoreLife; summary: CoreSummary | null }[] = []
  let starts = 0
  const sup = new CoreSupervisor<FakePort>({
    fork: () => {
      const c = new FakeChild()
      children.push(c)
      return c
    },
    policy: new RestartPolicy(),
    now: () => time.now,
    setTimer: time.set,
    clearTimer: time.clear,
    log: (line) => logged.push(line),
  })
  sup.onChange((life, summary) => changes.push({ life, summary }))
  sup.onStarted(() => starts++)
  const last = (): FakeChild => {
    const c = children.at(-1)
    assert.ok(c !== undefined, 'a child was forked')
    return c
  }
  return {
    sup,
    time,
    children,
    logged,
    changes,
    last,
    starts: () => starts,
    /** The cause of a core that is down. */
    cause: () => {
      const life = sup.life
      assert.equal(life.state, 'down')
      return life.state === 'down' ? life.cause : { text: '', restarting: false }
    },
  }
}

const SUMMARY: CoreSummary = {
  kind: 'member',
  ledgerName: 'Office',
  height: 3,
  members: 3,
  online: 2,
  quorum: 2,
  hasQuorum: true,
}

describe('the core supervisor', () => {
  it('starts the core: one fork, starting, and onStarted when the process spawns', () => {
    const s = setup()
    s.sup.start()
    assert.equal(s.children.length, 1)
    assert.deepEqual(s.sup.life, { state: 'starting' })
    assert.deepEqual(s.changes, [{ life: { state: 'starting' }, summary: null }])
    assert.equal(s.starts(), 0)
    s.last().spawned()
    assert.equal(s.starts(), 1)
    // Started again while it runs: nothing more.
    s.sup.start()
    assert.equal(s.children.length, 1)
  })

  it("is running on the core's `ready`, and passes on its `status`", () => {
    const s = setup()
    s.sup.start()
    s.last().says({ type: 'ready', dataDir: '/d', nodeId: 'n' })
    assert.deepEqual(s.sup.life, { state: 'running' })
    s.last().says({ type: 'status', status: SUMMARY })
    assert.deepEqual(s.sup.summary, SUMMARY)
    assert.deepEqual(s.changes.at(-1), { life: { state: 'running' }, summary: SUMMARY })
    // Garbage from the core changes nothing.
    const before = s.changes.length
    for (const m of [null, 42, 'ready', {}, { type: 'status' }, { type: 'shout' }]) s.last().says(m)
    assert.equal(s.changes.length, before)
  })

  it('after a crash is down (restarting), and starts the core again after the back-off', () => {
    const s = setup()
    s.sup.start()
    s.last().spawned()
    s.last().says({ type: 'ready', dataDir: '/d', nodeId: 'n' })
    s.last().says({ type: 'status', status: SUMMARY })
    s.last().exits(1)
    const cause = s.cause()
    assert.equal(cause.restarting, true)
    assert.match(cause.text, /stopped unexpectedly \(exit code 1\)/)
    assert.match(cause.text, /being started again/)
    assert.equal(s.sup.summary, null, 'the figures of a core that is gone are dropped')
    s.time.advance(999)
    assert.equal(s.children.length, 1, 'not before the first delay (1 s)')
    s.time.advance(1)
    assert.equal(s.children.length, 2)
    assert.deepEqual(s.sup.life, { state: 'starting' })
    s.last().spawned()
    assert.equal(s.starts(), 2, 'onStarted fires for each process')
    // The second crash in a row waits twice as long.
    s.last().exits(1)
    s.time.advance(1_999)
    assert.equal(s.children.length, 2)
    s.time.advance(1)
    assert.equal(s.children.length, 3)
  })

  it('gives up after five crashes: down, not restarting, and no more forks', () => {
    const s = setup()
    s.sup.start()
    for (let i = 0; i < 4; i++) {
      s.last().exits(1)
      assert.equal(s.cause().restarting, true)
      s.time.advance(10_000)
    }
    assert.equal(s.children.length, 5)
    s.last().exits(1)
    const cause = s.cause()
    assert.equal(cause.restarting, false)
    assert.match(cause.text, /5 times/)
    assert.match(cause.text, /Restart the core/)
    s.time.advance(60 * 60_000)
    assert.equal(s.children.length, 5)
    assert.equal(s.time.pending, 0)
  })

  it('restartNow after giving up forks again, with the crashes forgotten', () => {
    const s = setup()
    s.sup.start()
    for (let i = 0; i < 5; i++) {
      s.last().exits(1)
      s.time.advance(10_000)
    }
    assert.equal(s.cause().restarting, false)
    s.sup.restartNow()
    assert.equal(s.children.length, 6)
    assert.deepEqual(s.sup.life, { state: 'starting' })
    // A crash now is the first again: restarted after 1 s.
    s.last().exits(1)
    assert.equal(s.cause().restarting, true)
    s.time.advance(1_000)
    assert.equal(s.children.length, 7)
    // While a core runs, restartNow does nothing.
    s.sup.restartNow()
    assert.equal(s.children.length, 7)
  })

  it('restartNow while a restart waits starts at once and drops the waiting one', () => {
    const s = setup()
    s.sup.start()
    s.last().exits(1)
    s.sup.restartNow()
    assert.equal(s.children.length, 2)
    assert.equal(s.time.pending, 0)
    s.time.advance(60_000)
    assert.equal(s.children.length, 2)
  })

  it("connect() hands the port to a running core with `connect`, and is false while it's down", () => {
    const s = setup()
    s.sup.start()
    s.last().says({ type: 'ready', dataDir: '/d', nodeId: 'n' })
    const port = { name: 'p1' }
    assert.equal(s.sup.connect(port), true)
    assert.deepEqual(s.last().posted, [{ message: { type: 'connect' }, transfer: [port] }])
    s.last().exits(1)
    assert.equal(s.sup.connect({ name: 'p2' }), false)
    assert.equal(s.children[0]?.posted.length, 1)
  })

  it('stop() asks the core to stop and resolves when it exits; that exit is not a crash', async () => {
    const s = setup()
    s.sup.start()
    s.last().says({ type: 'ready', dataDir: '/d', nodeId: 'n' })
    let stopped = false
    const done = s.sup.stop().then(() => {
      stopped = true
    })
    assert.deepEqual(s.last().posted, [{ message: { type: 'stop' }, transfer: undefined }])
    await Promise.resolve()
    assert.equal(stopped, false, 'not before the core exits')
    assert.equal(s.sup.connect({ name: 'late' }), false, 'no port is handed to a core stopping')
    s.last().exits(0)
    await done
    assert.equal(stopped, true)
    assert.equal(s.cause().restarting, false)
    assert.match(s.cause().text, /has stopped/)
    assert.equal(s.last().kills, 0)
    s.time.advance(60 * 60_000)
    assert.equal(s.children.length, 1, 'not restarted')
    assert.equal(s.time.pending, 0, 'the kill timer is cleared')
    // Stopped for good: start() and restartNow() do nothing.
    s.sup.start()
    s.sup.restartNow()
    assert.equal(s.children.length, 1)
  })

  it('stop() kills a core that does not exit within the timeout', async () => {
    const s = setup()
    s.sup.start()
    const done = s.sup.stop()
    s.time.advance(STOP_TIMEOUT_MS - 1)
    assert.equal(s.last().kills, 0)
    s.time.advance(1)
    assert.equal(s.last().kills, 1)
    assert.ok(s.logged.some((l) => /killing it/.test(l)))
    s.last().exits(1)
    await done
    // Killed on purpose: not a crash.
    assert.equal(s.cause().restarting, false)
    s.time.advance(60_000)
    assert.equal(s.children.length, 1)
  })

  it('stop() gives up waiting for a core the kill does not end, so the app can quit', async () => {
    const s = setup()
    s.sup.start()
    let resolved = false
    const done = s.sup.stop().then(() => {
      resolved = true
    })
    s.time.advance(STOP_TIMEOUT_MS)
    assert.equal(s.last().kills, 1)
    s.time.advance(KILL_GRACE_MS - 1)
    await Promise.resolve()
    assert.equal(resolved, false)
    s.time.advance(1)
    await done
    assert.ok(s.logged.some((l) => /quitting without it/.test(l)))
  })

  it('a fork that throws leaves the core down, not restarting, saying why, and throws nothing', () => {
    const time = new FakeTime()
    const changes: CoreLife[] = []
    const sup = new CoreSupervisor<FakePort>({
      fork: () => {
        throw new Error('ENOENT: dist-electron/core.mjs')
      },
      policy: new RestartPolicy(),
      now: () => time.now,
      setTimer: time.set,
      clearTimer: time.clear,
      log: () => {},
    })
    sup.onChange((life) => changes.push(life))
    sup.start()
    const life = sup.life
    assert.equal(life.state, 'down')
    assert.ok(life.state === 'down' && !life.cause.restarting)
    assert.match(life.state === 'down' ? life.cause.text : '', /could not start its core: ENOENT/)
    assert.equal(time.pending, 0, 'no restart is scheduled')
  })

  it('counts a generation per core process started', () => {
    const s = setup()
    assert.equal(s.sup.generation, 0)
    s.sup.start()
    assert.equal(s.sup.generation, 1)
    s.last().exits(1)
    s.time.advance(RESTART_DELAYS_MS[0]!)
    assert.equal(s.sup.generation, 2)
  })

  it('ignores what a replaced core process still says', () => {
    const s = setup()
    s.sup.start()
    const old = s.last()
    old.exits(1)
    s.time.advance(RESTART_DELAYS_MS[0]!)
    old.says({ type: 'ready', dataDir: '/x', nodeId: 'n' })
    old.says({ type: 'status', status: SUMMARY })
    assert.equal(s.sup.life.state, 'starting')
    assert.equal(s.sup.summary, null)
  })

  it('stop() while a restart waits resolves at once and cancels it', async () => {
    const s = setup()
    s.sup.start()
    s.last().exits(1)
    await s.sup.stop()
    s.time.advance(60_000)
    assert.equal(s.children.length, 1)
    // Asked twice: the same promise.
    assert.equal(s.sup.stop(), s.sup.stop())
  })

  it("puts the core's last stderr line in the cause", () => {
    const s = setup()
    s.sup.start()
    s.last().writes('tally: listening on 127.0.0.1\n')
    s.last().writes('tally: the database is locked\n\n')
    s.last().exits(1)
    assert.match(s.cause().text, /exit code 1: tally: the database is locked\)/)
    assert.ok(s.logged.includes('core: tally: the database is locked'), 'and logs it')
  })

  it('joins a stderr line written in pieces, and takes one cut off without its newline', () => {
    const s = setup()
    s.sup.start()
    s.last().writes('tally: one ')
    s.last().writes('line\ntally: cut ')
    s.last().writes('off')
    s.last().exits(1)
    assert.match(s.cause().text, /: tally: cut off\)/)
    s.time.advance(1_000)
    // A new process starts with no last words of its own.
    s.last().exits(1)
    assert.match(s.cause().text, /\(exit code 1\)/)
  })

  it("says an uncaught error's first line, not the stack, properties or Node version after it", () => {
    const s = setup()
    s.sup.start()
    s.last().writes(
      [
        'file:///app/core.js:10',
        '    throw new Error("boom")',
        '    ^',
        '',
        'SqliteError: database disk image is malformed',
        '    at Database.prepare (file:///app/core.js:10:7)',
        '    at async run (node:internal/main:1:1) {',
        "  code: 'SQLITE_CORRUPT'",
        '}',
        '',
        'Node.js v20.20.2',
        '',
      ].join('\n'),
    )
    s.last().exits(1)
    assert.match(s.cause().text, /: SqliteError: database disk image is malformed\)/)
  })

  it('uses the words of a `fatal` message over stderr, and gives up at once on CORE_EXIT_FATAL', () => {
    const s = setup()
    s.sup.start()
    s.last().writes('tally: something else\n')
    s.last().says({ type: 'fatal', error: 'the data folder is in use by another Tally' })
    s.last().exits(CORE_EXIT_FATAL)
    const cause = s.cause()
    assert.equal(cause.restarting, false)
    assert.match(cause.text, /the data folder is in use by another Tally/)
    assert.doesNotMatch(cause.text, /something else/)
    s.time.advance(60_000)
    assert.equal(s.children.length, 1)
  })

  it('cuts very long stderr lines, whether they come whole or in pieces', () => {
    const long = `Error: ${'x'.repeat(5_000)}`
    const whole = setup()
    whole.sup.start()
    whole.last().writes(`${long}\n`)
    whole.last().exits(1)
    const pieces = setup()
    pieces.sup.start()
    for (let i = 0; i < long.length; i += 1_000) pieces.last().writes(long.slice(i, i + 1_000))
    pieces.last().writes('\n')
    pieces.last().exits(1)
    for (const s of [whole, pieces]) {
      const text = s.cause().text
      assert.ok(text.length < 600, `${text.length} characters`)
      assert.match(text, /: Error: x{393}…\)/, 'the head of the line, cut visibly')
    }
    // A fatal message is bounded too.
    const fatal = setup()
    fatal.sup.start()
    fatal.last().says({ type: 'fatal', error: 'y'.repeat(100_000) })
    fatal.last().exits(CORE_EXIT_FATAL)
    assert.ok(fatal.cause().text.length < 1_000)
  })

  it('ignores the exit of a process it no longer runs', () => {
    const s = setup()
    s.sup.start()
    const first = s.last()
    first.exits(1)
    s.time.advance(1_000)
    first.exits(1)
    assert.deepEqual(s.sup.life, { state: 'starting' })
    assert.equal(s.children.length, 2)
  })
})

describe("the core's last words", () => {
  it('are the last line when it is plain', () => {
    assert.equal(lastWords(['a', 'b']), 'b')
    assert.equal(lastWords([]), null)
  })

  it("are an error's first line past its stack, nested properties, its cause and Node's version", () => {
    const report = [
      'Error: outer',
      'at [eval]:1:9',
      '... 4 lines matching cause stack trace ...',
      'at node:internal/main/eval_string:51:3 {',
      '[cause]: Error: inner',
      'at [eval]:1:48',
      'at node:internal/main/eval_string:51:3 {',
      "code: 'E1',",
      'info: {',
      'a: 1',
      '}',
      '}',
      '}',
      'Node.js v20.20.2',
    ]
    assert.equal(lastWords(report), 'Error: outer')
  })

  it('fall back to the last line when nothing else says more', () => {
    assert.equal(lastWords(['at a', 'at b']), 'at b')
    assert.equal(lastWords(['}', 'Node.js v20.1.0']), 'Node.js v20.1.0')
  })
})
