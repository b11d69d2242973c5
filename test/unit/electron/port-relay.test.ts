/**
 * The page's port to its core across the core's restarts (electron/preload/port-relay.ts).
 *
 * The first block drives the relay between hand-made ports, one message at a time, for what a
 * real core cannot be made to do on cue. The last drives the renderer's real `PortTransport`
 * through the relay against a real `bridgePort` and a real node in this process, through a detach
 * and an attach to a new core port, as the preload does when the core restarts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MessageChannel } from 'node:worker_threads'
import { bridgePort, type PortBridge } from '../../../core/api/port-bridge.ts'
import type {
  CoreDownCause,
  CoreMessage,
  PortEvent,
  PortLike,
  RendererMessage,
} from '../../../core/api/port-protocol.ts'
import type { EventMessage, StatusView } from '../../../core/api/types.ts'
import { PortRelay, STARTING } from '../../../electron/preload/port-relay.ts'
import { PortTransport } from '../../../renderer/src/api/port-transport.ts'
import { NodeUnreachable } from '../../../renderer/src/api/transport.ts'
import { recorder, startTestApi, type TestApi, until } from '../api/helpers.ts'

/** A core's port as the relay sees it: records what the relay posts, and says what the core says. */
class FakeCorePort implements PortLike {
  readonly posted: unknown[] = []
  closed = false
  started = false
  /** Make postMessage throw, as a port whose other end is gone may. */
  failPosts = false
  readonly #listeners: { message: ((e: PortEvent) => void)[]; close: ((e: PortEvent) => void)[] } =
    { message: [], close: [] }

  postMessage(message: unknown): void {
    if (this.failPosts) throw new Error('the port is gone')
    this.posted.push(message)
  }
  addEventListener(type: 'message' | 'close', listener: (event: PortEvent) => void): void {
    this.#listeners[type].push(listener)
  }
  start(): void {
    this.started = true
  }
  close(): void {
    this.closed = true
  }
  /** The core posts `data` to the page. */
  say(data: CoreMessage | unknown): void {
    for (const l of this.#listeners.message) l({ type: 'message', data })
  }
  /** The other end went away (the core's process ended). */
  fireClose(): void {
    for (const l of this.#listeners.close) l({ type: 'close' })
  }
  /** What the relay posted of `kind`. */
  of(kind: RendererMessage['kind']): RendererMessage[] {
    return (this.posted as RendererMessage[]).filter((m) => m.kind === kind)
  }
}

/** A relay whose page end is listened to (and started, unless told not to). */
function relayWithPage(start = true) {
  const relay = new PortRelay()
  const seen: CoreMessage[] = []
  relay.page.addEventListener('message', (e) => seen.push(e.data as CoreMessage))
  if (start) relay.page.start?.()
  return { relay, seen, page: relay.page }
}

const request = (id: number): RendererMessage => ({
  v: 1,
  kind: 'request',
  id,
  request: { method: 'GET', path: '/api/status' },
})
const reply = (id: number): CoreMessage => ({
  v: 1,
  kind: 'reply',
  id,
  status: 200,
  body: { ok: true },
  headers: {},
})
const event = (n: number): CoreMessage => ({
  v: 1,
  kind: 'event',
  message: { type: 'test', n } as unknown as EventMessage,
})
const CRASHED: CoreDownCause = {
  text: "Tally's core stopped unexpectedly (exit code 1); it is being started again.",
  restarting: true,
}

describe('the port relay, message by message', () => {
  it('passes messages both ways once a core port is attached', () => {
    const { relay, seen, page } = relayWithPage()
    const core = new FakeCorePort()
    relay.attach(core)
    assert.equal(core.started, true, 'the core port is started')
    page.postMessage(request(1))
    page.postMessage({ v: 1, kind: 'listen' })
    assert.deepEqual(core.posted, [request(1), { v: 1, kind: 'listen' }])
    core.say(reply(1))
    core.say({ v: 1, kind: 'link', state: 'open' })
    core.say(event(1))
    assert.deepEqual(seen, [reply(1), { v: 1, kind: 'link', state: 'open' }, event(1)])
    page.postMessage({ v: 1, kind: 'unlisten' })
    assert.deepEqual(core.posted.at(-1), { v: 1, kind: 'unlisten' })
  })

  it('delivers what came for the page before it started its port, in order, once it does', () => {
    const { relay, seen, page } = relayWithPage(false)
    const core = new FakeCorePort()
    relay.attach(core)
    relay.detach(CRASHED)
    // The relay's own answer, while detached, is held for the page too.
    page.postMessage(request(1))
    const next = new FakeCorePort()
    relay.attach(next)
    next.say({ v: 1, kind: 'link', state: 'open' })
    next.say(event(1))
    assert.equal(seen.length, 0, 'nothing reaches a page that has not started its port')
    page.start?.()
    assert.equal(seen.length, 3)
    assert.equal(seen[0]?.kind, 'unreachable')
    assert.deepEqual(seen.slice(1), [{ v: 1, kind: 'link', state: 'open' }, event(1)])
    // Started twice: nothing is delivered twice; later messages go straight through.
    page.start?.()
    next.say(event(2))
    assert.deepEqual(seen.slice(3), [event(2)])
  })

  it('holds requests and a listen while the app starts, and sends them to the first core', () => {
    const { relay, seen, page } = relayWithPage()
    page.postMessage(request(1))
    page.postMessage({ v: 1, kind: 'listen' })
    page.postMessage(request(2))
    assert.equal(seen.length, 0, 'the window opens on its content, not on an alarm')
    const core = new FakeCorePort()
    relay.attach(core)
    assert.deepEqual(core.posted, [request(1), request(2), { v: 1, kind: 'listen' }])
    // They are outstanding on that core like any other: its loss answers them.
    relay.detach(CRASHED)
    assert.deepEqual(
      seen.map((m) => m.kind),
      ['unreachable', 'unreachable', 'link'],
    )
  })

  it('answers what it held with the cause when the first core does not come', () => {
    const { relay, seen, page } = relayWithPage()
    page.postMessage(request(1))
    page.postMessage({ v: 1, kind: 'listen' })
    const failed: CoreDownCause = {
      text: "Tally's core cannot run: the folder is held",
      restarting: false,
    }
    relay.detach(failed)
    assert.deepEqual(seen, [
      { v: 1, kind: 'unreachable', id: 1, error: failed.text },
      { v: 1, kind: 'link', state: 'down', cause: failed },
    ])
  })

  it('holds at most 64 requests while starting and answers the rest at once', () => {
    const { relay, seen, page } = relayWithPage()
    for (let id = 1; id <= 70; id++) page.postMessage(request(id))
    assert.deepEqual(
      seen.map((m) => (m.kind === 'unreachable' ? m.id : -1)),
      [65, 66, 67, 68, 69, 70],
    )
    assert.equal(seen[0]?.kind === 'unreachable' && seen[0].error, STARTING.text)
    const core = new FakeCorePort()
    relay.attach(core)
    assert.equal(core.of('request').length, 64)
  })

  it('answers a request while no core is attached, after the first, with `unreachable` and the cause', () => {
    const { relay, seen, page } = relayWithPage()
    relay.attach(new FakeCorePort())
    relay.detach(CRASHED)
    page.postMessage(request(8))
    assert.deepEqual(seen.at(-1), { v: 1, kind: 'unreachable', id: 8, error: CRASHED.text })
  })

  it('answers a `listen` while no core is attached, after the first, with `link down` carrying the cause', () => {
    const { relay, seen, page } = relayWithPage()
    relay.attach(new FakeCorePort())
    relay.detach(CRASHED)
    page.postMessage({ v: 1, kind: 'listen' })
    assert.deepEqual(seen, [{ v: 1, kind: 'link', state: 'down', cause: CRASHED }])
    const gaveUp: CoreDownCause = { text: 'it stopped 5 times', restarting: false }
    relay.detach(gaveUp)
    page.postMessage({ v: 1, kind: 'listen' })
    assert.deepEqual(seen.at(-1), { v: 1, kind: 'link', state: 'down', cause: gaveUp })
    // Nothing else is answered while detached: an unlisten or an ack needs no answer.
    page.postMessage({ v: 1, kind: 'unlisten' })
    page.postMessage({ v: 1, kind: 'ack', events: 3 })
    assert.equal(seen.length, 2)
  })

  it('asks a new core for the stream the page wants at once, and not for one it gave up', () => {
    const { relay, page } = relayWithPage()
    const first = new FakeCorePort()
    relay.attach(first)
    page.postMessage({ v: 1, kind: 'listen' })
    relay.detach(CRASHED)
    const second = new FakeCorePort()
    relay.attach(second)
    assert.deepEqual(second.posted, [{ v: 1, kind: 'listen' }])
    page.postMessage({ v: 1, kind: 'unlisten' })
    relay.detach(CRASHED)
    const third = new FakeCorePort()
    relay.attach(third)
    assert.deepEqual(third.posted, [])
  })

  it('on detach, answers every outstanding request `unreachable` and tells an open stream `down`', () => {
    const { relay, seen, page } = relayWithPage()
    const core = new FakeCorePort()
    relay.attach(core)
    page.postMessage({ v: 1, kind: 'listen' })
    core.say({ v: 1, kind: 'link', state: 'open' })
    page.postMessage(request(1))
    page.postMessage(request(2))
    page.postMessage(request(3))
    seen.length = 0
    relay.detach(CRASHED)
    assert.equal(core.closed, true, 'the old core port is closed')
    assert.deepEqual(
      seen
        .filter((m) => m.kind === 'unreachable')
        .map((m) => (m.kind === 'unreachable' ? m.id : 0)),
      [1, 2, 3],
    )
    for (const m of seen.filter((m) => m.kind === 'unreachable')) {
      assert.equal(m.kind === 'unreachable' && m.error, CRASHED.text)
    }
    assert.deepEqual(
      seen.filter((m) => m.kind === 'link'),
      [{ v: 1, kind: 'link', state: 'down', cause: CRASHED }],
    )
    // A second detach has nothing left to answer.
    relay.detach(CRASHED)
    assert.equal(seen.length, 4)
  })

  it('does not tell a stream `down` on detach once the page unlistened or the core ended it', () => {
    const { relay, seen, page } = relayWithPage()
    const core = new FakeCorePort()
    relay.attach(core)
    page.postMessage({ v: 1, kind: 'listen' })
    page.postMessage({ v: 1, kind: 'unlisten' })
    relay.detach(CRASHED)
    assert.deepEqual(seen, [])
    const next = new FakeCorePort()
    relay.attach(next)
    page.postMessage({ v: 1, kind: 'listen' })
    next.say({ v: 1, kind: 'link', state: 'down' })
    relay.detach(CRASHED)
    assert.deepEqual(seen, [{ v: 1, kind: 'link', state: 'down' }], 'the core said it; once is all')
  })

  it('forgets a request once its reply (or `unreachable`) came: a later detach does not answer it again', () => {
    const { relay, seen, page } = relayWithPage()
    const core = new FakeCorePort()
    relay.attach(core)
    page.postMessage(request(1))
    page.postMessage(request(2))
    page.postMessage(request(3))
    core.say(reply(1))
    core.say({ v: 1, kind: 'unreachable', id: 2, error: 'the node is away' })
    relay.detach(CRASHED)
    const answers = (id: number) =>
      seen.filter((m) => (m.kind === 'reply' || m.kind === 'unreachable') && m.id === id)
    assert.equal(answers(1).length, 1)
    assert.equal(answers(1)[0]?.kind, 'reply')
    assert.equal(answers(2).length, 1)
    assert.equal(answers(3).length, 1, 'the one left waiting is answered by the detach')
    assert.equal(answers(3)[0]?.kind, 'unreachable')
  })

  it('passes on acks only for events the current port posted', () => {
    const { relay, page } = relayWithPage()
    const old = new FakeCorePort()
    relay.attach(old)
    for (let i = 0; i < 5; i++) old.say(event(i))
    page.postMessage({ v: 1, kind: 'ack', events: 3 })
    assert.deepEqual(old.of('ack'), [{ v: 1, kind: 'ack', events: 3 }])
    // The page still owes the old port 2 events when a new core comes.
    const fresh = new FakeCorePort()
    relay.attach(fresh)
    page.postMessage({ v: 1, kind: 'ack', events: 2 })
    assert.deepEqual(fresh.of('ack'), [], 'an ack owed to the old port is not forwarded')
    assert.deepEqual(old.of('ack').length, 1, 'nor to the old port, which is closed')
    fresh.say(event(10))
    fresh.say(event(11))
    page.postMessage({ v: 1, kind: 'ack', events: 4 })
    assert.deepEqual(
      fresh.of('ack'),
      [{ v: 1, kind: 'ack', events: 2 }],
      'clamped to what it posted',
    )
    page.postMessage({ v: 1, kind: 'ack', events: 1 })
    assert.equal(fresh.of('ack').length, 1, 'nothing is owed any more')
    // Not a number: nothing forwarded.
    fresh.say(event(12))
    page.postMessage({ v: 1, kind: 'ack', events: 'all' })
    assert.equal(fresh.of('ack').length, 1)
  })

  it("detaches with the generic cause when the core port's other end closes", () => {
    const { relay, seen, page } = relayWithPage()
    const core = new FakeCorePort()
    relay.attach(core)
    page.postMessage({ v: 1, kind: 'listen' })
    page.postMessage(request(1))
    core.fireClose()
    const down = seen.find((m) => m.kind === 'link')
    assert.ok(down?.kind === 'link' && down.state === 'down' && down.cause !== undefined)
    assert.match(down.cause.text, /stopped answering/)
    assert.equal(down.cause.restarting, true)
    const lost = seen.find((m) => m.kind === 'unreachable')
    assert.ok(lost?.kind === 'unreachable')
    assert.equal(lost.error, down.cause.text)
    assert.equal(core.closed, true)
    // Detached: the next request is answered here with the same cause.
    page.postMessage(request(2))
    assert.deepEqual(seen.at(-1), { v: 1, kind: 'unreachable', id: 2, error: down.cause.text })
  })

  it('ignores what an old core port says, or its close, once a new one is attached', () => {
    const { relay, seen, page } = relayWithPage()
    const old = new FakeCorePort()
    relay.attach(old)
    const fresh = new FakeCorePort()
    relay.attach(fresh)
    assert.equal(old.closed, true)
    page.postMessage({ v: 1, kind: 'listen' })
    old.say(event(1))
    old.fireClose()
    assert.deepEqual(seen, [])
    page.postMessage(request(5))
    assert.deepEqual(fresh.posted, [{ v: 1, kind: 'listen' }, request(5)])
    assert.deepEqual(old.posted, [])
  })

  it('detaches when posting to the core port throws, answering the request it could not send', () => {
    const { relay, seen, page } = relayWithPage()
    const core = new FakeCorePort()
    relay.attach(core)
    core.failPosts = true
    page.postMessage(request(9))
    assert.equal(seen.length, 1)
    assert.equal(seen[0]?.kind, 'unreachable')
    assert.match(seen[0]?.kind === 'unreachable' ? seen[0].error : '', /stopped answering/)
    assert.equal(core.closed, true)
  })

  it('drops what the page sends that is not of the protocol', () => {
    const { relay, seen, page } = relayWithPage()
    const core = new FakeCorePort()
    relay.attach(core)
    for (const m of [
      null,
      42,
      'request',
      { v: 2, kind: 'request', id: 1, request: {} },
      { v: 1, kind: 'request', id: '1' },
      { v: 1, kind: 'shout' },
      { v: 1, kind: 'reply', id: 3, status: 200, body: null, headers: {} },
    ]) {
      page.postMessage(m)
    }
    assert.deepEqual(core.posted, [])
    assert.deepEqual(seen, [])
  })

  it('refuses requests past the bound of those waiting, at once', () => {
    const { relay, seen, page } = relayWithPage()
    const core = new FakeCorePort()
    relay.attach(core)
    for (let id = 1; id <= 1_025; id++) page.postMessage(request(id))
    assert.equal(core.of('request').length, 1_024)
    assert.deepEqual(seen, [
      { v: 1, kind: 'unreachable', id: 1_025, error: 'too many requests waiting' },
    ])
    // An answer frees a place.
    core.say(reply(1))
    page.postMessage(request(1_026))
    assert.equal(core.of('request').length, 1_025)
  })

  it('after page.close(), closes a port attached later and forwards nothing', () => {
    const { relay, page } = relayWithPage()
    const first = new FakeCorePort()
    relay.attach(first)
    page.close()
    assert.equal(first.closed, true, 'the attached port is closed with the page')
    const late = new FakeCorePort()
    relay.attach(late)
    assert.equal(late.closed, true)
    page.postMessage(request(1))
    assert.deepEqual(late.posted, [])
    assert.deepEqual(first.posted, [])
  })
})

describe('the port relay between a real PortTransport and a real core', () => {
  let t: TestApi
  const bridges: PortBridge[] = []
  let transport: PortTransport | null = null
  before(async () => {
    t = await startTestApi({ others: 0 })
  })
  after(async () => {
    transport?.close()
    for (const b of bridges) b.close()
    await t.close()
  })

  /** What main does for each core: a new channel, one end bridged by the core, one to the relay. */
  function newCore(relay: PortRelay): void {
    const { port1, port2 } = new MessageChannel()
    bridges.push(bridgePort(port1, t.api))
    relay.attach(port2)
  }

  it('takes the stream open → down (with the cause) → open again on a new core port', async () => {
    const relay = new PortRelay()
    const tr = new PortTransport(relay.page)
    transport = tr
    const sink = recorder()
    tr.listen(sink)
    // Before any core: the stream waits, connecting, without an alarm.
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual(sink.links, [{ state: 'connecting' }])

    newCore(relay)
    await until('the link to open', () => sink.links.at(-1)?.state === 'open')
    await until('the greeting', () => sink.messages.some((m) => m.type === 'hello'))
    const first = await tr.request({ method: 'GET', path: '/api/status' })
    assert.equal(first.status, 200)
    const nodeId = (first.body as StatusView).nodeId

    // The core's process ends: main tells the preload why.
    const opened = sink.links.length
    relay.detach(CRASHED)
    await until('the link to go down', () => sink.links.length > opened)
    const down = sink.links[opened]
    assert.ok(down?.state === 'down', JSON.stringify(down))
    assert.deepEqual(down.cause, CRASHED)
    await assert.rejects(
      tr.request({ method: 'GET', path: '/api/status' }),
      (e: unknown) => e instanceof NodeUnreachable && e.message.includes(CRASHED.text),
    )

    // The core is started again and main hands the relay its new port.
    const greetings = sink.messages.filter((m) => m.type === 'hello').length
    newCore(relay)
    await until('the link to open again', () => sink.links.at(-1)?.state === 'open')
    await until(
      'a new greeting',
      () => sink.messages.filter((m) => m.type === 'hello').length > greetings,
    )
    const again = await tr.request({ method: 'GET', path: '/api/status' })
    assert.equal(again.status, 200)
    assert.equal((again.body as StatusView).nodeId, nodeId)
    // Every down the stream went through while the core was away said why.
    for (const l of sink.links.slice(opened)) {
      if (l.state === 'down') assert.deepEqual(l.cause, CRASHED)
    }
  })
})
