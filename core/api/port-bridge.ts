/**
 * The core's end of the desktop app's MessagePort (the protocol: core/api/port-protocol.ts). Each
 * request that comes in on the port is sent to this node's own HTTP API on 127.0.0.1 with the
 * bearer token, and each answer goes back as it came; `listen` opens the API's event stream and
 * passes each message on.
 *
 * Why over loopback rather than calling the routes: then every client, the browser tab, the
 * command line and the desktop window, goes through one code path, with the same token check,
 * idempotency keys, body limits, mempool bound and error words, and nothing here can drift from
 * what docs/api.md promises. The cost is a loopback round trip per request, far below what a
 * person clicking can notice.
 *
 * The renderer on the other end is treated as untrusted input, because a compromised page must not
 * take the core down or reach what the API does not serve: every message is checked, and one that
 * does not fit the protocol is answered 400 (if it names a request id) or dropped; only paths under
 * /api/ are forwarded (the interface's files and anything else are answered 400); a body past
 * MAX_PORT_BODY is answered 413 without being sent; at most MAX_IN_FLIGHT requests are forwarded
 * at a time (429 past that); no exception from a message reaches the process.
 *
 * The event stream is bounded too: the renderer acknowledges the events it takes (`ack`), and a
 * renderer that falls more than MAX_UNACKED_EVENTS events or MAX_UNACKED_BYTES of their JSON
 * behind has its stream ended with `link` `down`, as the web mode drops a WebSocket client that
 * falls 8 MiB behind; a port that is never drained cannot make the core's memory grow.
 */
import WebSocket from 'ws'
import type {
  ApiReply,
  CoreMessage,
  PortEvent,
  PortLike,
  PortProtocolVersion,
  PortRequestId,
} from './port-protocol.ts'
import type { EventMessage } from './types.ts'

const V: PortProtocolVersion = 1

/**
 * Requests forwarded and not yet answered, past which more are answered 429. The renderer keeps
 * 64 waiting at most (renderer/src/api/port-transport.ts); some slack covers requests it has
 * given up on (timed out) that are still being answered here.
 */
export const MAX_IN_FLIGHT = 128
/**
 * The largest JSON body forwarded. Just above the API's own largest (a batch, 4,096,000 bytes):
 * the API keeps its per-route limits and says 413 itself; this only stops a body no route takes
 * before it is copied into a request.
 */
export const MAX_PORT_BODY = 4 * 1024 * 1024
/**
 * Bytes of event JSON posted to the port and not yet acknowledged past which the stream is ended:
 * the web mode's bound on a WebSocket client's buffer (MAX_BUFFERED in core/api/server.ts).
 */
export const MAX_UNACKED_BYTES = 8 * 1024 * 1024
/**
 * Events posted and not yet acknowledged past which the stream is ended, whatever their size: each
 * costs a clone and a listener call beyond its JSON. Twice the entries a block holds (10,000),
 * because a block's commit tells each of them at once, faster than any acknowledgement can come
 * back; the renderer acknowledges every 100 events (renderer/src/api/port-transport.ts).
 */
export const MAX_UNACKED_EVENTS = 20_000
/** Longer than any path and query the interface makes; a longer one is not one of its calls. */
const MAX_PATH = 8 * 1024
const MAX_HEADERS = 32
const MAX_HEADER_VALUE = 8 * 1024
/** As the web mode's fetch: a request not answered by then counts as the node being away. */
const REQUEST_TIMEOUT_MS = 15_000
/**
 * Headers the bridge sets or the HTTP client owns: the token is the bridge's, and framing
 * headers from the page could only confuse the request it makes.
 */
const OWN_HEADERS = new Set([
  'authorization',
  'connection',
  'content-length',
  'content-type',
  'cookie',
  'expect',
  'host',
  'keep-alive',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/** The API to forward to: `ApiServer` fits. */
export interface BridgedApi {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly token: string
}

export interface PortBridgeOptions {
  /** MAX_UNACKED_EVENTS unless a test lowers it. */
  readonly maxUnackedEvents?: number
  /** MAX_UNACKED_BYTES unless a test lowers it. */
  readonly maxUnackedBytes?: number
}

export interface PortBridge {
  /** Stops the stream, abandons requests being answered and closes the port. */
  close(): void
}

/** A request checked and ready to send, or why it will not be. */
type Checked =
  | { readonly ok: true; readonly url: URL; readonly init: RequestInit }
  | { readonly ok: false; readonly status: number; readonly error: string }

/** Serves `port` until it closes or `close()` is called. */
export function bridgePort(
  port: PortLike,
  api: BridgedApi,
  opts: PortBridgeOptions = {},
): PortBridge {
  const base = new URL(api.url)
  const inFlight = new Map<PortRequestId, AbortController>()
  const unacked = new Unacked(
    opts.maxUnackedEvents ?? MAX_UNACKED_EVENTS,
    opts.maxUnackedBytes ?? MAX_UNACKED_BYTES,
  )
  let closed = false
  let listened = false
  let socket: WebSocket | null = null

  const post = (m: CoreMessage) => {
    if (closed) return
    try {
      port.postMessage(m)
    } catch {
      // The port went away between the check and the send; its `close` ends the rest.
    }
  }
  const refuse = (id: PortRequestId, status: number, error: string) =>
    post({ v: V, kind: 'reply', id, status, body: { error }, headers: {} })

  const connect = () => {
    const url = new URL('/api/events', base)
    url.protocol = 'ws:'
    // Node can put the token in a header, which keeps it out of the URL the server may log.
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${api.token}` },
      handshakeTimeout: REQUEST_TIMEOUT_MS,
    })
    socket = ws
    let greeted = false
    ws.on('message', (data, isBinary) => {
      if (socket !== ws || isBinary) return
      const text = String(data)
      let message: EventMessage
      try {
        message = JSON.parse(text) as EventMessage
      } catch {
        return
      }
      const size = Buffer.byteLength(text)
      if (!unacked.admits(size)) {
        // Too far behind: the web mode closes such a client (1013) and it reconnects.
        cut()
        return
      }
      // `open` once the stream greets, as the web mode reports it, just before the greeting.
      if (!greeted) {
        greeted = true
        post({ v: V, kind: 'link', state: 'open' })
      }
      unacked.posted(size)
      post({ v: V, kind: 'event', message })
    })
    // A refused or failed connection emits `error` and then `close`; the loss is told on `close`,
    // and without a listener here `error` would be thrown out of the process.
    ws.on('error', () => {})
    ws.on('close', () => {
      if (socket !== ws) return
      socket = null
      if (listened) post({ v: V, kind: 'link', state: 'down' })
    })
  }
  // The renderer keeps the back-off and sends `listen` again after each `down`, so a loss is not
  // retried here: the next try it shows is the one made, and a window that went away stops them.
  const listen = () => {
    listened = true
    if (socket !== null) return
    // Still far behind (only a renderer that does not acknowledge is: the transport acknowledges
    // all it took when told `down`): this try fails, and the renderer's back-off paces the next.
    if (!unacked.caughtUp()) post({ v: V, kind: 'link', state: 'down' })
    else connect()
  }
  /** Ends the stream of a renderer too far behind; it stays `listened`, to try again. */
  const cut = () => {
    const ws = socket
    socket = null
    ws?.terminate()
    post({ v: V, kind: 'link', state: 'down' })
  }
  const unlisten = () => {
    listened = false
    const ws = socket
    socket = null
    ws?.terminate()
  }

  const handle = (data: unknown) => {
    if (closed || typeof data !== 'object' || data === null) return
    const m = data as Partial<Record<string, unknown>>
    const id = requestId(m.id)
    if (m.v !== V) {
      if (id !== null) refuse(id, 400, 'not a message of port protocol version 1')
      return
    }
    switch (m.kind) {
      case 'listen':
        listen()
        return
      case 'unlisten':
        unlisten()
        return
      case 'ack':
        if (typeof m.events === 'number' && Number.isSafeInteger(m.events) && m.events > 0) {
          unacked.acked(m.events)
        } else if (id !== null) refuse(id, 400, 'an ack counts events: a positive integer')
        return
      case 'request': {
        if (id === null) return // nothing to address an answer to
        // A second request with a waiting id: its answer could be taken for the first's.
        if (inFlight.has(id)) return
        if (inFlight.size >= MAX_IN_FLIGHT) {
          refuse(id, 429, `more than ${MAX_IN_FLIGHT} requests are waiting for the node`)
          return
        }
        const checked = checkRequest(base, api.token, m.request)
        if (!checked.ok) {
          refuse(id, checked.status, checked.error)
          return
        }
        const abort = new AbortController()
        inFlight.set(id, abort)
        void forward(id, checked.url, checked.init, abort.signal).then((answer) => {
          inFlight.delete(id)
          post(answer)
        })
        return
      }
      default:
        if (id !== null) refuse(id, 400, 'not a message of the port protocol')
    }
  }

  const close = () => {
    if (closed) return
    unlisten()
    closed = true
    for (const abort of inFlight.values()) abort.abort()
    inFlight.clear()
  }

  port.addEventListener('message', (e: PortEvent) => {
    try {
      handle(e.data)
    } catch (error) {
      // A bug here must not end the core: the message is dropped and the port kept.
      console.error('tally port bridge:', error)
    }
  })
  port.addEventListener('close', close)
  port.start?.()

  return {
    close: () => {
      close()
      try {
        port.close()
      } catch {
        // Closed already.
      }
    },
  }
}

/**
 * The events posted to the port and not yet acknowledged, oldest first, by their size as JSON: an
 * `ack` of n takes the oldest n off (no more than were posted, so acknowledging ahead earns no
 * credit).
 */
class Unacked {
  readonly #maxEvents: number
  readonly #maxBytes: number
  /** Sizes of the events posted; those before #head are acknowledged. */
  #sizes: number[] = []
  #head = 0
  #bytes = 0

  constructor(maxEvents: number, maxBytes: number) {
    this.#maxEvents = maxEvents
    this.#maxBytes = maxBytes
  }

  get #count(): number {
    return this.#sizes.length - this.#head
  }

  /** Whether one more event of `size` bytes stays within the bound; one alone always does. */
  admits(size: number): boolean {
    return (
      this.#count === 0 || (this.#count < this.#maxEvents && this.#bytes + size <= this.#maxBytes)
    )
  }

  /** At most half the bound is unacknowledged: a stream may open again. */
  caughtUp(): boolean {
    return this.#count <= this.#maxEvents / 2 && this.#bytes <= this.#maxBytes / 2
  }

  posted(size: number): void {
    this.#sizes.push(size)
    this.#bytes += size
  }

  acked(events: number): void {
    const end = this.#head + Math.min(events, this.#count)
    for (let i = this.#head; i < end; i++) this.#bytes -= this.#sizes[i]!
    this.#head = end
    // Drop what was acknowledged now and then, not at each ack: the list stays short either way.
    if (this.#head === this.#sizes.length || this.#head >= 1024) {
      this.#sizes = this.#sizes.slice(this.#head)
      this.#head = 0
    }
  }
}

/** Sends the request to the API; the answer as a `reply`, or `unreachable` if none came. */
async function forward(
  id: PortRequestId,
  url: URL,
  init: RequestInit,
  abandon: AbortSignal,
): Promise<CoreMessage> {
  const signal = AbortSignal.any([abandon, AbortSignal.timeout(REQUEST_TIMEOUT_MS)])
  let status: number
  let text: string
  let headers: Record<string, string>
  try {
    const res = await fetch(url, { ...init, signal, redirect: 'manual' })
    status = res.status
    headers = {}
    res.headers.forEach((v, k) => {
      headers[k] = v
    })
    text = await res.text()
  } catch (error) {
    return { v: V, kind: 'unreachable', id, error: why(error) }
  }
  const reply: ApiReply = { status, body: parseBody(text), headers }
  return { v: V, kind: 'reply', id, ...reply }
}

/** As the web mode reads an answer: JSON, null when empty, the text as an error otherwise. */
function parseBody(text: string): unknown {
  if (text === '') return null
  try {
    return JSON.parse(text) as unknown
  } catch {
    return { error: text.slice(0, 500) }
  }
}

/** fetch says only "fetch failed"; the cause (ECONNREFUSED, a timeout) is what tells. */
function why(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as Error & { cause?: unknown }).cause
  const code =
    typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : null
  return code === null ? error.message : `${error.message}: ${code}`
}

function requestId(id: unknown): PortRequestId | null {
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null
}

/** Everything the protocol and the bridge's bounds require of a request, before it is sent. */
function checkRequest(base: URL, token: string, r: unknown): Checked {
  const bad = (status: number, error: string): Checked => ({ ok: false, status, error })
  if (typeof r !== 'object' || r === null) return bad(400, 'the request is not an object')
  const req = r as Partial<Record<string, unknown>>
  const method = req.method
  if (method !== 'GET' && method !== 'POST') return bad(400, 'the method must be GET or POST')

  const path = req.path
  if (typeof path !== 'string' || path.length > MAX_PATH || !path.startsWith('/api/')) {
    return bad(400, 'only paths under /api/ are served over the port')
  }
  let url: URL
  try {
    url = new URL(path, base)
  } catch {
    return bad(400, 'the path is not a valid URL path')
  }
  // Checked again once parsed: `/api/../x`, `/api/%2e%2e/x` and `/api\..\x` all leave /api/.
  if (url.origin !== base.origin || !url.pathname.startsWith('/api/')) {
    return bad(400, 'only paths under /api/ are served over the port')
  }

  const given: Record<string, string> = {}
  if (req.headers !== undefined) {
    if (typeof req.headers !== 'object' || req.headers === null || Array.isArray(req.headers)) {
      return bad(400, 'headers must be an object of strings')
    }
    const entries = Object.entries(req.headers)
    if (entries.length > MAX_HEADERS) return bad(400, `more than ${MAX_HEADERS} headers`)
    for (const [name, value] of entries) {
      if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE) {
        return bad(400, `header ${JSON.stringify(name)} is not a string of at most 8 KiB`)
      }
      const lower = name.toLowerCase()
      if (!OWN_HEADERS.has(lower)) given[lower] = value
    }
  }
  let headers: Headers
  try {
    headers = new Headers(given)
  } catch (error) {
    return bad(400, `bad header: ${(error as Error).message}`)
  }
  headers.set('authorization', `Bearer ${token}`)

  const init: RequestInit = { method, headers }
  if (req.body !== undefined) {
    if (method === 'GET') return bad(400, 'a GET request has no body')
    let text: string | undefined
    try {
      text = JSON.stringify(req.body)
    } catch (error) {
      return bad(400, `the body is not JSON: ${(error as Error).message}`)
    }
    if (text === undefined) return bad(400, 'the body is not JSON')
    if (Buffer.byteLength(text) > MAX_PORT_BODY) {
      return bad(413, `the body is over ${MAX_PORT_BODY / 1024 / 1024} MiB`)
    }
    headers.set('content-type', 'application/json')
    init.body = text
  }
  return { ok: true, url, init }
}
