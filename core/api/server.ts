/**
 * The node's HTTP and WebSocket API, on 127.0.0.1 only, behind a bearer token made at start.
 * Anything that reaches the port without the token gets 401 and nothing else: other users of the
 * machine (and web pages in its browser) can reach loopback, so the port alone proves nothing.
 * The one exception is the built interface, if the server is given its folder: its files hold no
 * ledger data, and are served to anyone (core/api/static.ts).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import {
  type EntryBody,
  type EntryStatus,
  type KeyedSubmit,
  type MachineEvent,
  SubmitError,
  shortNodeId,
  TallyNode,
} from '../node/index.ts'
import { type AnswerMaker, KeyedRequests, type Reply } from './idempotency.ts'
import {
  batchFrom,
  entryQueryFrom,
  heightFrom,
  MAX_BATCH,
  parseJson,
  RequestError,
  transferFrom,
} from './requests.ts'
import {
  type ApiHost,
  createLedger,
  decide,
  joinLedger,
  joinRequestViews,
  NO_LEDGER,
  nodeHost,
  setupView,
} from './setup-routes.ts'
import { serveStatic } from './static.ts'
import type {
  BatchItemResult,
  BatchPartialResponse,
  BatchResponse,
  EventMessage,
  MemberView,
  SubmitResponse,
} from './types.ts'
import {
  balancesView,
  blockView,
  entryView,
  eventMessage,
  peerView,
  roundsView,
  settingsView,
  statusView,
} from './views.ts'

const MAX_BODY = 64 * 1024
/**
 * 4 KiB an item: the longest transfer (64-character accounts, a memo of 280 emoji) is about 1.3 KB
 * as plain JSON, and even that memo written as `\uXXXX` escapes (12 bytes an emoji) fits.
 */
const MAX_BATCH_BODY = MAX_BATCH * 4 * 1024
/**
 * Entries waiting for a block past which submissions get 503. Without a quorum nothing commits,
 * and a mempool without a bound would grow until memory, gossip and the next block gave way.
 */
export const MAX_PENDING = 50_000
/** A stream client this far behind is cut off rather than buffered without end. */
const MAX_BUFFERED = 8 * 1024 * 1024
/**
 * How long an idle connection is kept open. A client that sends on a kept-alive connection just
 * as the server closes it gets "socket hang up" (ECONNRESET) without knowing whether the request
 * was read, so the server must outlast its clients' idle timeouts: fetch (undici) keeps one 4 s,
 * or one second less than the server's `Keep-Alive: timeout=` hint; Node's http.Agent keeps one
 * for ever unless it has a timeout of its own (the hint only shortens an agent timeout), and
 * Node's default here was 5 s. Browsers keep theirs up to a minute or two.
 */
export const KEEP_ALIVE_MS = 65_000
const HASH = /^[0-9a-f]{64}$/

export interface ApiOptions {
  readonly port: number
  /** A fixed token (tests, the desktop shell); otherwise 32 random bytes. */
  readonly token?: string
  /** Routes under /api/test/ that cut the node off from peers; only for the cluster tests. */
  readonly testHooks?: boolean
  /** Entries waiting for a block past which submissions get 503; MAX_PENDING unless a test lowers it. */
  readonly maxPending?: number
  /**
   * The built interface (index.html and assets/): GET and HEAD of any path outside /api/ are
   * answered from it without the token. Without it, every request needs the token.
   */
  readonly staticDir?: string
}

export interface ApiServer {
  readonly url: string
  readonly token: string
  close(): Promise<void>
}

/**
 * Serves `target`: a machine (its lobby until it has a ledger, then its node), or a node alone.
 * Routes that need a ledger answer 409 while there is none.
 */
export async function startApi(target: ApiHost | TallyNode, opts: ApiOptions): Promise<ApiServer> {
  const host = target instanceof TallyNode ? nodeHost(target) : target
  const token = opts.token ?? randomBytes(32).toString('hex')
  const expected = Buffer.from(`Bearer ${token}`)
  const authorised = (req: IncomingMessage, url: URL): boolean => {
    const header = req.headers.authorization
    const given =
      header !== undefined
        ? Buffer.from(header)
        : // Browsers cannot set headers on a WebSocket, so the stream also takes ?token=.
          url.pathname === '/api/events' && url.searchParams.has('token')
          ? Buffer.from(`Bearer ${url.searchParams.get('token')}`)
          : null
    return given !== null && given.length === expected.length && timingSafeEqual(given, expected)
  }

  // What serves a node's submissions is made when the node is there (a lobby has none).
  let bound: Bound | null = null
  const current = (): Bound => {
    const node = host.node
    if (node === null) throw new RequestError(409, NO_LEDGER)
    if (bound?.node !== node) {
      bound = {
        node,
        submitter: new Submitter(node, opts.maxPending ?? MAX_PENDING),
        keys: new KeyedRequests(node),
      }
    }
    return bound
  }

  /** Known once listening; the page's policy and the settings view name it. */
  let port = 0
  const server = createServer((req, res) => {
    const url = parseUrl(req.url)
    if (url === null) {
      send(res, 400, { error: 'the request target is not a valid path' })
      req.resume()
      return
    }
    const method = req.method ?? 'GET'
    if (
      opts.staticDir !== undefined &&
      !url.pathname.startsWith('/api/') &&
      (method === 'GET' || method === 'HEAD')
    ) {
      req.resume()
      void serveStatic(opts.staticDir, url.pathname, method === 'HEAD', port, res).catch(
        (error: unknown) => {
          console.error('tally api: serving the interface:', error)
          if (!res.headersSent) res.writeHead(500).end()
        },
      )
      return
    }
    if (!authorised(req, url)) {
      send(res, 401, { error: 'missing or wrong bearer token' })
      req.resume()
      return
    }
    route(host, current, req, url, port, opts.testHooks === true).then(
      ([status, body, headers]) => send(res, status, body, headers),
      (error: unknown) => {
        if (error instanceof RequestError) {
          const { message, index } = error
          send(
            res,
            error.status,
            index === undefined ? { error: message } : { error: message, index },
          )
        } else if (error instanceof SubmitError) send(res, 400, { error: error.message })
        else {
          console.error('tally api:', error)
          send(res, 500, { error: `the node failed: ${(error as Error).message}` })
        }
      },
    )
  })

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node takes its own error handler off the socket before this event: without one, a client
    // that resets the connection would crash the process.
    socket.on('error', () => socket.destroy())
    const url = parseUrl(req.url)
    if (url === null || url.pathname !== '/api/events' || !authorised(req, url)) {
      const code = url?.pathname !== '/api/events' ? '404 Not Found' : '401 Unauthorized'
      socket.end(`HTTP/1.1 ${code}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    // The greeting first: a node that has stopped (its disk failed) cannot tell its status, and
    // an exception in the upgrade callback would take the whole process down. A machine without
    // a ledger greets with where it stands instead.
    let hello: EventMessage
    try {
      const node = host.node
      hello =
        node === null
          ? { type: 'setup', setup: setupView(host) }
          : { type: 'hello', status: statusView(node.status()) }
    } catch (error) {
      refuseUpgrade(socket, `the node has stopped: ${(error as Error).message}`)
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const push = (m: EventMessage) => {
        if (ws.bufferedAmount > MAX_BUFFERED) {
          ws.close(1013, 'too far behind the event stream; reconnect')
          return
        }
        ws.send(JSON.stringify(m))
      }
      push(hello)
      const unsubscribe = host.subscribe((e: MachineEvent) => {
        const node = host.node
        let m: EventMessage | null
        try {
          m =
            e.type === 'setup'
              ? { type: 'setup', setup: setupView(host) }
              : e.type === 'join-requests'
                ? node === null
                  ? null
                  : { type: 'join-requests', requests: joinRequestViews(node) }
                : node === null
                  ? null
                  : eventMessage(node, e)
        } catch {
          return // the machine is between lobby and node; the next event tells
        }
        if (m !== null) push(m)
      })
      ws.on('close', unsubscribe)
      ws.on('error', unsubscribe)
    })
  })

  server.keepAliveTimeout = KEEP_ALIVE_MS
  // A kept-alive connection's next request must not be cut off by the headers timer first.
  server.headersTimeout = KEEP_ALIVE_MS + 1_000
  await listen(server, opts.port)
  port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: async () => {
      for (const c of wss.clients) c.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

type Submitted = { id: string; status: EntryStatus }

/**
 * Submits for the routes, within the mempool bound. Counts what it has handed to the node and not
 * yet seen answered: those are not in `node.pending` until the node takes them at the end of the
 * event-loop turn, and requests read in the same turn must not all squeeze under the bound.
 */
class Submitter {
  readonly #node: TallyNode
  readonly #max: number
  #inFlight = 0

  constructor(node: TallyNode, max: number) {
    this.#node = node
    this.#max = max
  }

  /** One entry; rejects with SubmitError when the ledger refuses it. */
  async one(body: EntryBody, keyed?: KeyedSubmit): Promise<Submitted> {
    this.#admit(1)
    this.#inFlight++
    try {
      return await this.#node.submit(body, keyed)
    } finally {
      this.#inFlight--
    }
  }

  /** All of them in this event-loop turn, so they share one transaction; results in order. */
  async all(
    bodies: readonly EntryBody[],
    keyed?: KeyedSubmit,
  ): Promise<PromiseSettledResult<Submitted>[]> {
    this.#admit(bodies.length)
    this.#inFlight += bodies.length
    try {
      return await Promise.allSettled(this.#node.submitAll(bodies, keyed))
    } finally {
      this.#inFlight -= bodies.length
    }
  }

  #admit(n: number): void {
    const waiting = this.#node.pending + this.#inFlight
    if (waiting + n <= this.#max) return
    const s = this.#node.status()
    const why = s.hasQuorum
      ? 'blocks are not keeping up with submissions'
      : `it cannot reach a quorum (${s.online} of ${s.members} members online, ${s.quorum} needed), so no block commits`
    throw new RequestError(
      503,
      `this node has too many entries waiting for a block (${waiting}${n > 1 ? `, and ${n} in this batch` : ''}; at most ${this.#max}) because ${why}: nothing was stored, submit again later`,
    )
  }
}

/**
 * The answer to a checked batch: 202 when every item is stored; otherwise one result per item,
 * 207 if some are stored, 400 if the ledger refused them all, 500 if the node failed them all.
 */
export function batchAnswer(
  settled: readonly PromiseSettledResult<Submitted>[],
): [202, BatchResponse] | [207 | 400 | 500, BatchPartialResponse] {
  const stored: SubmitResponse[] = []
  for (const s of settled) if (s.status === 'fulfilled') stored.push(s.value)
  if (stored.length === settled.length) {
    return [202, { entries: stored.map((r) => ({ id: r.id, status: r.status })) }]
  }
  const entries: BatchItemResult[] = settled.map((s) =>
    s.status === 'fulfilled'
      ? { id: s.value.id, status: s.value.status }
      : { error: s.reason instanceof Error ? s.reason.message : String(s.reason) },
  )
  const failed = settled.length - stored.length
  if (stored.length > 0) {
    return [
      207,
      { error: `${failed} of ${settled.length} entries were not stored; the others were`, entries },
    ]
  }
  const refused = settled.every((s) => s.status === 'rejected' && s.reason instanceof SubmitError)
  if (refused) {
    return [
      400,
      { error: 'the ledger refused every entry of the batch: nothing was stored', entries },
    ]
  }
  // A failed write stops the node, and what of the batch it holds shows once it runs again: the
  // entries were taken into its mempool before the write failed.
  return [
    500,
    {
      error:
        'the node failed and stops: the batch was not acknowledged; after a restart its entries list shows what was kept',
      entries,
    },
  ]
}

/** What a key keeps for `POST /api/entries`: the 202, if the entry was stored. */
export const entryAnswer: AnswerMaker = (outcomes) => {
  const o = outcomes[0]
  if (o === undefined || !('id' in o)) return null
  const answer: SubmitResponse = { id: o.id, status: o.status }
  return { status: 202, body: JSON.stringify(answer) }
}

/**
 * What a key keeps for a batch: the 202, or the 207 when only some items were stored (a retry
 * must not store those again; the client sends the others as a new request, with a new key).
 */
export const batchKeyAnswer: AnswerMaker = (outcomes) => {
  const [status, answer] = batchAnswer(
    outcomes.map(
      (o): PromiseSettledResult<Submitted> =>
        'id' in o
          ? { status: 'fulfilled', value: { id: o.id, status: o.status } }
          : { status: 'rejected', reason: new SubmitError(o.error) },
    ),
  )
  return status === 202 || status === 207 ? { status, body: JSON.stringify(answer) } : null
}

interface Bound {
  readonly node: TallyNode
  readonly submitter: Submitter
  readonly keys: KeyedRequests
}

async function route(
  host: ApiHost,
  current: () => Bound,
  req: IncomingMessage,
  url: URL,
  /** The port this API listens on, for the settings view. */
  apiPort: number,
  testHooks: boolean,
): Promise<Reply> {
  const path = url.pathname
  const method = req.method ?? 'GET'
  const only = (m: string) => {
    if (method !== m) throw new RequestError(405, `${path} takes ${m}, not ${method}`)
  }
  switch (path) {
    case '/api/setup':
      only('GET')
      return [200, setupView(host)]
    case '/api/ledger':
      only('POST')
      return [201, await createLedger(host, await readBody(req, MAX_BODY))]
    case '/api/join':
      only('POST')
      return [202, await joinLedger(host, await readBody(req, MAX_BODY))]
    case '/api/settings': {
      only('GET')
      // A machine without a ledger has its settings too: they are the machine's, not the ledger's.
      const source = host.node ?? host.lobby
      if (source === null)
        throw new RequestError(503, 'the node is starting or stopping; ask again')
      return [200, settingsView(source, apiPort)]
    }
  }
  const { node, submitter, keys } = current()
  if (path === '/api/join-requests') {
    only('GET')
    return [200, { requests: joinRequestViews(node) }]
  }
  const decision =
    /^\/api\/join-requests\/([^/]+)\/(approve|deny)$/.exec(path) ??
    /^\/api\/members\/([^/]+)\/(remove)$/.exec(path)
  if (decision !== null) {
    only('POST')
    req.resume()
    return decide(node, decision[1]!, decision[2] as 'approve' | 'deny' | 'remove')
  }
  if (path === '/api/entries') {
    if (method === 'POST') {
      const bytes = await readBytes(req, MAX_BODY)
      return keys.run(req, 'POST /api/entries', bytes, async (keyed) => {
        const body = transferFrom(parseJson(bytes.toString('utf8')))
        const r = await submitter.one(body, keyed?.(entryAnswer))
        const answer: SubmitResponse = { id: r.id, status: r.status }
        return [202, answer]
      })
    }
    only('GET')
    const page = node.entries(entryQueryFrom(url.searchParams))
    return [200, { entries: page.entries.map(entryView), next: page.next }]
  }
  if (path === '/api/entries/batch') {
    only('POST')
    const bytes = await readBytes(req, MAX_BATCH_BODY)
    return keys.run(req, 'POST /api/entries/batch', bytes, async (keyed) => {
      // Every item is read and checked before any is submitted: a bad one stores nothing.
      const bodies = batchFrom(parseJson(bytes.toString('utf8')), (b) => node.bodyError(b))
      const [status, answer] = batchAnswer(await submitter.all(bodies, keyed?.(batchKeyAnswer)))
      if (status === 500) {
        console.error(
          'tally api: a batch failed:',
          answer.entries.find((e) => 'error' in e),
        )
      }
      return [status, answer]
    })
  }
  const entryMatch = /^\/api\/entries\/([^/]+)$/.exec(path)
  if (entryMatch !== null) {
    only('GET')
    const id = entryMatch[1]!
    if (!HASH.test(id)) throw new RequestError(400, 'an entry id is 64 lowercase hex characters')
    const e = node.entry(id)
    if (e === null) throw new RequestError(404, `no entry ${id} at this node`)
    return [200, entryView(e)]
  }
  const blockMatch = /^\/api\/blocks\/([^/]+)$/.exec(path)
  if (blockMatch !== null) {
    only('GET')
    const height = heightFrom(blockMatch[1]!)
    const b = node.block(height)
    if (b === null) {
      throw new RequestError(
        404,
        `no block ${height}: this node's last block is ${node.state.height}`,
      )
    }
    return [
      200,
      blockView(
        b,
        (e) =>
          node.entry(e.id) ?? {
            entry: e,
            status: 'committed',
            height,
            reason: null,
            local: false,
            received: 0,
          },
      ),
    ]
  }
  switch (path) {
    case '/api/status':
      only('GET')
      return [200, statusView(node.status())]
    case '/api/balances':
      only('GET')
      return [200, { balances: balancesView(node) }]
    case '/api/peers':
      only('GET')
      return [200, { peers: node.peers().map(peerView) }]
    case '/api/rounds':
      only('GET')
      return [200, roundsView(node.rounds())]
    case '/api/members': {
      only('GET')
      const members: MemberView[] = node.state
        .members()
        .map((m) => ({ id: m.id, shortId: shortNodeId(m.id), name: m.name }))
      return [200, { members }]
    }
    case '/api/events':
      throw new RequestError(426, '/api/events is a WebSocket: connect with Upgrade: websocket')
    case '/api/test/isolate': {
      if (!testHooks) break
      only('POST')
      const v = parseJson(await readBody(req, MAX_BODY)) as { peers?: unknown }
      if (!Array.isArray(v.peers) || !v.peers.every((p) => typeof p === 'string' && HASH.test(p))) {
        throw new RequestError(400, '{"peers": [node ids]} expected')
      }
      node.isolate(v.peers as string[])
      return [200, { isolated: v.peers }]
    }
  }
  throw new RequestError(404, `no route ${method} ${path}`)
}

/** Answers an upgrade with 503 and closes the socket once the answer is written. */
function refuseUpgrade(socket: Duplex, message: string): void {
  const body = JSON.stringify({ error: message })
  socket.end(
    'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n' +
      `Content-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  )
}

/** Null for a target no URL can be made of (`//[`, say): a bad request, not a crash. */
function parseUrl(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://127.0.0.1')
  } catch {
    return null
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return (await readBytes(req, limit)).toString('utf8')
}

function readBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    // Past the limit the rest is read and dropped, so the client still gets its 413.
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= limit) chunks.push(c)
    })
    req.on('end', () => {
      if (size > limit) reject(new RequestError(413, `the body is over ${limit} bytes`))
      else resolve(Buffer.concat(chunks))
    })
    req.on('error', reject)
  })
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) return
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(text)
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}
