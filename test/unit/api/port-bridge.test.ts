/**
 * The desktop app's MessagePort, end to end in this process: a real node and its API, the core's
 * `bridgePort` on one end of a worker_threads MessageChannel and the renderer's `PortTransport`
 * on the other, as Electron will wire them (main → utility process, main → preload).
 *
 * The last block drives the transport against a bare port with nobody answering, for what a real
 * core cannot be made to do on cue (never answer, answer late), and the bridge against an HTTP
 * server that never answers, for its bound on requests in flight.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import {
  bridgePort,
  MAX_IN_FLIGHT,
  type PortBridge,
  type PortBridgeOptions,
} from '../../../core/api/port-bridge.ts'
import type {
  CoreMessage,
  PortEventMessage,
  PortLinkMessage,
  PortReplyMessage,
} from '../../../core/api/port-protocol.ts'
import { type ApiServer, startApi } from '../../../core/api/server.ts'
import type { StatusView, SubmitResponse } from '../../../core/api/types.ts'
import { ACK_EVERY_EVENTS, PortTransport } from '../../../renderer/src/api/port-transport.ts'
import { type LinkState, NodeUnreachable, retryDelay } from '../../../renderer/src/api/transport.ts'
import { recorder, startTestApi, type TestApi, TOKEN, transfer, until } from './helpers.ts'

/** A bridge and a transport on the two ends of a fresh channel. */
function wire(api: { url: string; token: string }, opts: PortBridgeOptions = {}) {
  const { port1, port2 } = new MessageChannel()
  const bridge = bridgePort(port1, api, opts)
  const transport = new PortTransport(port2)
  return {
    bridge,
    transport,
    /** The renderer's end, for sending what no honest transport would. */
    raw: port2,
    close: () => {
      transport.close()
      bridge.close()
    },
  }
}

/** Everything that arrives on `port` from the bridge, besides what the transport takes. */
function tap(port: MessagePort): CoreMessage[] {
  const seen: CoreMessage[] = []
  port.addEventListener('message', (e) => seen.push((e as MessageEvent).data as CoreMessage))
  return seen
}

describe('the MessagePort bridge to a real node', () => {
  let t: TestApi
  const wired: { close(): void }[] = []
  const open = () => {
    const w = wire(t.api)
    wired.push(w)
    return w
  }
  before(async () => {
    // The only member: it commits alone, and a commit is what makes an entry event here (an
    // entry is told as `relayed` only when a peer takes it).
    t = await startTestApi({ others: 0 })
  })
  after(async () => {
    for (const w of wired) w.close()
    await t.close()
  })

  it('answers GET /api/status with the status the HTTP API gives', async () => {
    const { transport } = open()
    const reply = await transport.request({ method: 'GET', path: '/api/status' })
    assert.equal(reply.status, 200)
    const direct = await t.call<StatusView>('GET', '/api/status')
    assert.equal((reply.body as StatusView).nodeId, direct.body.nodeId)
    assert.equal((reply.body as StatusView).name, direct.body.name)
    assert.match(reply.headers['content-type'] ?? '', /application\/json/)
  })

  it('keeps idempotency: the same key twice stores one entry, the second a replay', async () => {
    const { transport } = open()
    const before = (await t.stored()).length
    const key = randomUUID()
    const submit = () =>
      transport.request({
        method: 'POST',
        path: '/api/entries',
        body: transfer(1, `port ${key}`),
        headers: { 'Idempotency-Key': key },
      })
    const first = await submit()
    assert.equal(first.status, 202, JSON.stringify(first.body))
    assert.equal(first.headers['idempotent-replayed'], undefined)
    const again = await submit()
    assert.equal(again.status, 202)
    assert.equal(again.headers['idempotent-replayed'], 'true')
    assert.equal((again.body as SubmitResponse).id, (first.body as SubmitResponse).id)
    const stored = await t.stored()
    assert.equal(stored.length, before + 1)
    assert.equal(stored.filter((e) => e.memo === `port ${key}`).length, 1)
  })

  it('streams events: the link opens, the greeting comes first, then an entry as it commits', async () => {
    const { transport } = open()
    const sink = recorder()
    const stop = transport.listen(sink)
    await until('the greeting', () => sink.messages.length > 0)
    assert.deepEqual(sink.links, [{ state: 'connecting' }, { state: 'open' }])
    assert.equal(sink.messages[0]?.type, 'hello')
    const reply = await transport.request({
      method: 'POST',
      path: '/api/entries',
      body: transfer(2, 'streamed'),
    })
    assert.equal(reply.status, 202)
    const id = (reply.body as SubmitResponse).id
    await until('the entry event', () =>
      sink.messages.some((m) => m.type === 'entry' && m.entry.id === id),
    )
    stop()
    // Unlistened: no more events, and the link is not reported lost.
    const count = sink.messages.length
    await transport.request({ method: 'POST', path: '/api/entries', body: transfer(3, 'unseen') })
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(sink.messages.length, count)
    assert.equal(sink.links.at(-1)?.state, 'open')
  })

  it('refuses paths outside /api/, however they are written, and methods besides GET and POST', async () => {
    const { transport } = open()
    for (const path of [
      '/',
      '/index.html',
      '/api',
      '/api/../index.html',
      '/api/%2e%2e/index.html',
      '/api/..%2F..%2Fetc',
      '/api/..\\index.html',
      '//example.com/api/status',
      'http://example.com/api/status',
    ]) {
      const reply = await transport.request({ method: 'GET', path })
      if (path === '/api/..%2F..%2Fetc') {
        // Stays under /api/ once parsed (an encoded slash is no separator): the API says 404.
        assert.equal(reply.status, 404, path)
        continue
      }
      assert.equal(reply.status, 400, path)
      assert.match(String((reply.body as { error: string }).error), /only paths under \/api\//)
    }
    const put = await transport.request({ method: 'PUT' as 'GET', path: '/api/status' })
    assert.equal(put.status, 400)
    // The page's own token header is not the one sent: the bridge's is.
    const spoofed = await transport.request({
      method: 'GET',
      path: '/api/status',
      headers: { authorization: 'Bearer wrong' },
    })
    assert.equal(spoofed.status, 200)
  })

  it('survives garbage on the port and goes on answering', async () => {
    const { transport, raw } = open()
    const seen = tap(raw)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const request = { method: 'POST', path: '/api/entries' }
    for (const m of [
      null,
      42,
      'request',
      [1, 2, 3],
      {},
      { v: 1 },
      { v: 1, kind: 'request' },
      { v: 1, kind: 'request', id: -1, request: { method: 'GET', path: '/api/status' } },
      { v: 1, kind: 'request', id: 1.5, request: { method: 'GET', path: '/api/status' } },
      { v: 2, kind: 'request', id: 1001, request: { method: 'GET', path: '/api/status' } },
      { v: 1, kind: 'shout', id: 1002 },
      { v: 1, kind: 'request', id: 1003, request: 5 },
      { v: 1, kind: 'request', id: 1004, request: { method: 'GET' } },
      { v: 1, kind: 'request', id: 1005, request: { ...request, body: cyclic } },
      { v: 1, kind: 'request', id: 1006, request: { ...request, body: 10n } },
      { v: 1, kind: 'request', id: 1007, request: { ...request, body: 'x'.repeat(5 << 20) } },
      { v: 1, kind: 'request', id: 1008, request: { ...request, headers: { 'x-a': 5 } } },
      { v: 1, kind: 'request', id: 1009, request: { ...request, headers: { 'bad name': 'x' } } },
      { v: 1, kind: 'request', id: 1010, request: { ...request, headers: ['x'] } },
      { v: 1, kind: 'request', id: 1011, request: { method: 'GET', path: '/api/status', body: 1 } },
      {
        v: 1,
        kind: 'request',
        id: 1012,
        request: { method: 'GET', path: `/api/${'a'.repeat(9000)}` },
      },
      { v: 1, kind: 'reply', id: 1013, status: 200, body: null, headers: {} },
      { v: 1, kind: 'listen', extra: new Map([[1, 2]]) },
      { v: 1, kind: 'unlisten' },
      { v: 1, kind: 'ack', events: 'all' },
      { v: 1, kind: 'ack', id: 1014, events: -1 },
      { v: 1, kind: 'ack', id: 1015, events: 0.5 },
    ]) {
      raw.postMessage(m)
    }
    const expected: Record<number, number> = {
      1001: 400,
      1002: 400,
      1003: 400,
      1004: 400,
      1005: 400,
      1006: 400,
      1007: 413,
      1008: 400,
      1009: 400,
      1010: 400,
      1011: 400,
      1012: 400,
      1013: 400,
      1014: 400,
      1015: 400,
    }
    await until('an answer to each malformed request', () =>
      Object.keys(expected).every((id) =>
        seen.some((m) => m.kind === 'reply' && m.id === Number(id)),
      ),
    )
    const replies = seen.filter((m): m is PortReplyMessage => m.kind === 'reply')
    for (const [id, status] of Object.entries(expected)) {
      const r = replies.find((m) => m.id === Number(id))!
      assert.equal(r.status, status, `${id}: ${JSON.stringify(r.body)}`)
      assert.equal(typeof (r.body as { error: unknown }).error, 'string')
    }
    assert.equal(replies.length, Object.keys(expected).length, 'nothing else was answered')
    const reply = await transport.request({ method: 'GET', path: '/api/status' })
    assert.equal(reply.status, 200)
  })
})

describe('the MessagePort bridge when the API stops', () => {
  let t: TestApi
  let second: ApiServer | null = null
  let w: ReturnType<typeof wire> | null = null
  before(async () => {
    t = await startTestApi()
  })
  after(async () => {
    w?.close()
    await second?.close()
    await t.close()
  })

  it('rejects requests with NodeUnreachable and reports the link down, then back on a new API', async () => {
    w = wire(t.api)
    const { transport } = w
    const sink = recorder()
    transport.listen(sink)
    await until('the link to open', () => sink.links.at(-1)?.state === 'open')

    await t.api.close()
    await until('the link to go down', () => sink.links.at(-1)?.state === 'down')
    const down = sink.links.at(-1) as Extract<LinkState, { state: 'down' }>
    assert.ok(down.retryAt > down.since, 'a next try is scheduled')
    assert.ok(down.retryAt - down.since <= retryDelay(0) + 50, 'the first try comes soon')
    await assert.rejects(
      transport.request({ method: 'GET', path: '/api/status' }),
      (e: unknown) => e instanceof NodeUnreachable && /ECONNREFUSED|fetch failed/.test(e.message),
    )
    // It keeps trying with the back-off, and `since` stays when the link was lost.
    await until(
      'a second try to fail',
      () => sink.links.filter((l) => l.state === 'down').length >= 2,
    )
    const downs = sink.links.filter((l) => l.state === 'down')
    assert.equal(downs[1]?.since, down.since)

    // The same port and token, as `tally node` restarted with --token-file would have.
    const port = Number(new URL(t.api.url).port)
    second = await startApi(t.node, { port, token: TOKEN })
    const greetings = sink.messages.filter((m) => m.type === 'hello').length
    await until('the link to open again', () => sink.links.at(-1)?.state === 'open')
    await until(
      'a new greeting',
      () => sink.messages.filter((m) => m.type === 'hello').length > greetings,
    )
    const reply = await transport.request({ method: 'GET', path: '/api/status' })
    assert.equal(reply.status, 200)
  })
})

describe("the MessagePort bridge's bound on events not acknowledged", () => {
  let t: TestApi
  const bridges: PortBridge[] = []
  const ports: MessagePort[] = []
  before(async () => {
    // The only member: it commits alone, and each entry is told as it commits.
    t = await startTestApi({ others: 0 })
  })
  after(async () => {
    for (const b of bridges) b.close()
    for (const p of ports) p.close()
    await t.close()
  })

  /** A bridge whose renderer end is a bare port that acknowledges nothing unless told to. */
  const bare = (opts: PortBridgeOptions) => {
    const { port1, port2 } = new MessageChannel()
    bridges.push(bridgePort(port1, t.api, opts))
    ports.push(port2)
    const seen = tap(port2)
    return {
      port: port2,
      events: () => seen.filter((m): m is PortEventMessage => m.kind === 'event'),
      links: () => seen.filter((m): m is PortLinkMessage => m.kind === 'link').map((m) => m.state),
      send: (m: Record<string, unknown>) => port2.postMessage({ v: 1, ...m }),
    }
  }
  const hellos = (events: readonly PortEventMessage[]) =>
    events.filter((e) => e.message.type === 'hello').length
  /** Stores `n` entries in batches of at most 1,000; each is told on the stream as it commits. */
  const burst = async (n: number, memo: string) => {
    for (let i = 0; i < n; i += 1000) {
      const entries = Array.from({ length: Math.min(1000, n - i) }, (_, j) =>
        transfer(i + j, `${memo} ${i + j}`),
      )
      const r = await t.call('POST', '/api/entries/batch', { entries })
      assert.equal(r.status, 202, JSON.stringify(r.body))
    }
  }

  it('cuts a port that never acknowledges at the bound, and opens again on a listen once it has', async () => {
    const bound = 20
    const b = bare({ maxUnackedEvents: bound })
    b.send({ kind: 'listen' })
    await until('the greeting', () => b.events().length === 1)
    await burst(3 * bound, 'unread')
    await until('the stream cut', () => b.links().includes('down'))
    assert.deepEqual(b.links(), ['open', 'down'])
    // The greeting and 19 more: the 21st event would have passed the bound.
    assert.equal(b.events().length, bound)
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(b.events().length, bound, 'the socket is closed: nothing more comes')

    // A listen while still behind is one failed try; so is one with too little acknowledged.
    b.send({ kind: 'listen' })
    await until('a second down', () => b.links().length === 3)
    b.send({ kind: 'ack', events: bound / 2 - 1 })
    b.send({ kind: 'listen' })
    await until('a third down', () => b.links().length === 4)
    assert.deepEqual(b.links(), ['open', 'down', 'down', 'down'])
    assert.equal(b.events().length, bound)

    // Half the bound acknowledged: the stream opens again, with a new greeting. An ack of more
    // than was posted earns no credit: the bound counts from the events posted since.
    b.send({ kind: 'ack', events: 1 })
    b.send({ kind: 'ack', events: 10 * bound })
    b.send({ kind: 'listen' })
    await until('the stream open again', () => b.links().at(-1) === 'open')
    await until('a new greeting', () => hellos(b.events()) === 2)
    await burst(2 * bound, 'unread again')
    await until('the stream cut again', () => b.links().at(-1) === 'down')
    assert.equal(b.events().length, 2 * bound, 'cut at the bound again')
  })

  it('counts the JSON of the events too', async () => {
    const maxUnackedBytes = 8 * 1024
    const b = bare({ maxUnackedBytes })
    b.send({ kind: 'listen' })
    await until('the greeting', () => b.events().length === 1)
    await burst(40, 'bytes')
    await until('the stream cut', () => b.links().includes('down'))
    const sizes = b.events().map((e) => Buffer.byteLength(JSON.stringify(e.message)))
    const bytes = sizes.reduce((n, size) => n + size, 0)
    assert.ok(bytes <= maxUnackedBytes, `${bytes} bytes posted`)
    assert.ok(bytes > maxUnackedBytes - Math.max(...sizes), `${bytes} bytes: room for more`)
  })

  it('never cuts a PortTransport that keeps up, while a port that does not is cut', async () => {
    // Events reach a transport in this process only once the bridge yields, so one burst is
    // posted whole before any ack can come back (across processes too: a block's commit tells
    // all its entries at once). Hence bursts well below the bound, and above it in all.
    const bound = 150
    const w = wire(t.api, { maxUnackedEvents: bound })
    const b = bare({ maxUnackedEvents: bound })
    try {
      const sink = recorder()
      w.transport.listen(sink)
      b.send({ kind: 'listen' })
      await until('the stream open', () => sink.links.at(-1)?.state === 'open')
      await until('the bare greeting', () => b.events().length === 1)
      const mine = () =>
        sink.messages.filter(
          (m) =>
            m.type === 'entry' &&
            m.entry.kind === 'transfer' &&
            m.entry.memo.startsWith('kept up '),
        ).length
      const size = 25
      for (let i = 0; i < 8; i++) {
        await burst(size, `kept up ${i}`)
        await until(`burst ${i} told`, () => mine() === (i + 1) * size)
      }
      assert.ok(sink.messages.length > bound + ACK_EVERY_EVENTS, `${sink.messages.length} events`)
      assert.deepEqual(sink.links, [{ state: 'connecting' }, { state: 'open' }], 'never cut')
      assert.deepEqual(b.links(), ['open', 'down'], 'the port that does not acknowledge is cut')
    } finally {
      w.close()
    }
  })
})

describe('bounds no real core produces on cue', () => {
  it('the transport times out, bounds what waits, never reuses an id, and ignores late answers', async () => {
    const { port1: core, port2 } = new MessageChannel()
    const asked: { id: number }[] = []
    core.addEventListener('message', (e) => {
      const m = (e as MessageEvent).data as { kind: string; id: number }
      if (m.kind === 'request') asked.push(m)
    })
    const transport = new PortTransport(port2, { timeoutMs: 100, maxPending: 2 })
    try {
      const a = transport.request({ method: 'GET', path: '/api/status' })
      const b = transport.request({ method: 'GET', path: '/api/status' })
      await assert.rejects(
        transport.request({ method: 'GET', path: '/api/status' }),
        NodeUnreachable,
        'a third waiting request is refused at once',
      )
      await assert.rejects(
        a,
        (e: unknown) => e instanceof NodeUnreachable && /0\.1 s/.test(e.message),
      )
      await assert.rejects(b, NodeUnreachable)
      // A late answer to a timed-out request does not resolve the next one.
      const c = transport.request({ method: 'GET', path: '/api/status' })
      await until('the core to see three requests', () => asked.length === 3)
      core.postMessage({
        v: 1,
        kind: 'reply',
        id: asked[0]!.id,
        status: 200,
        body: 'late',
        headers: {},
      })
      core.postMessage({
        v: 1,
        kind: 'reply',
        id: asked[2]!.id,
        status: 200,
        body: 'c',
        headers: {},
      })
      assert.equal((await c).body, 'c')
      assert.deepEqual(
        asked.map((m) => m.id),
        [1, 2, 3],
        'ids count up; the refused request took none',
      )
    } finally {
      transport.close()
    }
  })

  it('the transport rejects what waits when the link goes down, and asks again with the back-off', async () => {
    const { port1: core, port2 } = new MessageChannel()
    const listens: number[] = []
    core.addEventListener('message', (e) => {
      if (((e as MessageEvent).data as { kind: string }).kind === 'listen') listens.push(Date.now())
    })
    const transport = new PortTransport(port2)
    const sink = recorder()
    try {
      transport.listen(sink)
      await until('the first listen', () => listens.length === 1)
      const waiting = transport.request({ method: 'GET', path: '/api/status' })
      core.postMessage({ v: 1, kind: 'link', state: 'down' })
      await assert.rejects(waiting, NodeUnreachable)
      await until('the listen sent again', () => listens.length === 2)
      core.postMessage({ v: 1, kind: 'link', state: 'down' })
      await until('the third listen', () => listens.length === 3)
      const downs = sink.links.filter(
        (l): l is Extract<LinkState, { state: 'down' }> => l.state === 'down',
      )
      assert.equal(downs.length, 2)
      assert.equal(downs[0]!.retryAt - downs[0]!.since, retryDelay(0))
      assert.equal(downs[1]!.since, downs[0]!.since)
      assert.ok(downs[1]!.retryAt - downs[0]!.retryAt >= retryDelay(1) - 20)
      assert.ok(listens[1]! - listens[0]! >= retryDelay(0) - 20)
      core.postMessage({ v: 1, kind: 'link', state: 'open' })
      await until('open', () => sink.links.at(-1)?.state === 'open')
      // The core's end closing is the node gone for good: requests fail at once.
      core.close()
      await until('down after the close', () => sink.links.at(-1)?.state === 'down')
      await assert.rejects(
        transport.request({ method: 'GET', path: '/api/status' }),
        NodeUnreachable,
      )
    } finally {
      transport.close()
    }
  })

  it('the bridge forwards at most MAX_IN_FLIGHT requests at a time and answers 429 past that', async () => {
    // An API that takes requests and never answers: the bridge's requests stay in flight.
    const held: ServerResponse[] = []
    const server: Server = createServer((_req, res) => {
      held.push(res)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const { port1, port2 } = new MessageChannel()
    let bridge: PortBridge | null = null
    try {
      bridge = bridgePort(port1, { url, token: TOKEN })
      const seen = tap(port2)
      for (let id = 1; id <= MAX_IN_FLIGHT; id++) {
        port2.postMessage({ v: 1, kind: 'request', id, request: { method: 'GET', path: '/api/x' } })
      }
      await until('every request to reach the API', () => held.length === MAX_IN_FLIGHT)
      const over = MAX_IN_FLIGHT + 1
      port2.postMessage({
        v: 1,
        kind: 'request',
        id: over,
        request: { method: 'GET', path: '/api/x' },
      })
      await until('the one past the bound answered', () => seen.length > 0)
      assert.deepEqual(
        seen.map((m) => [m.kind, 'id' in m ? m.id : null, 'status' in m ? m.status : null]),
        [['reply', over, 429]],
      )
      // One answered frees a place.
      held.shift()!.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
      await until('its answer', () => seen.length === 2)
      port2.postMessage({
        v: 1,
        kind: 'request',
        id: over + 1,
        request: { method: 'GET', path: '/api/x' },
      })
      await until('the next one forwarded', () => held.length === MAX_IN_FLIGHT)
    } finally {
      bridge?.close()
      port2.close()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
  })
})
