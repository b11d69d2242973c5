/**
 * The desktop app's transport: the same requests and event stream as the web mode, carried over a
 * MessagePort to the utility process that runs the core (core/api/port-protocol.ts is the
 * protocol; core/api/port-bridge.ts the other end). The port holds no token: whoever holds the
 * port was given it by the app's main process.
 *
 * Works on any `PortLike`, so it runs as well in Node (the unit tests drive it over a
 * worker_threads MessageChannel against a real node) as in the browser; it uses no DOM global.
 *
 * The bridge opens the stream when asked and says when it is lost; when to ask again is decided
 * here, with the web mode's back-off, so the `retryAt` shown is when the next try is made.
 *
 * Every `event` taken is acknowledged (`ack`), in batches: the bridge ends the stream of a
 * renderer that falls too far behind rather than queue events on the port without end.
 */
import type {
  CoreDownCause,
  CoreMessage,
  PortEvent,
  PortLike,
  PortProtocolVersion,
  PortRequestId,
  RendererMessage,
} from '../../../core/api/port-protocol.ts'
import type { EventMessage } from '../../../core/api/types.ts'
import {
  type ApiReply,
  type ApiRequest,
  type EventSink,
  NodeUnreachable,
  REQUEST_TIMEOUT_MS,
  retryDelay,
  type Transport,
} from './transport.ts'

const V: PortProtocolVersion = 1

/**
 * Requests waiting for an answer past which new ones are refused at once: the screens ask a few
 * at a time, so more means the core has stopped answering, and queueing more would only grow.
 * Below the bridge's own bound (core/api/port-bridge.ts), so an honest renderer never meets it.
 */
export const MAX_PENDING_REQUESTS = 64

/**
 * Events taken before they are acknowledged at once, and how long the first one not yet
 * acknowledged waits for more: far below the bridge's bound (20,000 events or 8 MiB), so a
 * renderer that keeps up is never cut off, and few enough messages that acking costs nothing.
 */
export const ACK_EVERY_EVENTS = 100
export const ACK_AFTER_MS = 250

export interface PortTransportOptions {
  /** 15 s unless a test shortens it. */
  readonly timeoutMs?: number
  /** MAX_PENDING_REQUESTS unless a test lowers it. */
  readonly maxPending?: number
}

interface Pending {
  resolve(reply: ApiReply): void
  reject(error: NodeUnreachable): void
  timer: ReturnType<typeof setTimeout>
}

interface Listening {
  readonly sink: EventSink
  attempt: number
  lostAt: number | null
  timer: ReturnType<typeof setTimeout> | null
}

export class PortTransport implements Transport {
  readonly #port: PortLike
  readonly #timeoutMs: number
  readonly #maxPending: number
  readonly #pending = new Map<PortRequestId, Pending>()
  /** Counts up and is never reused: a late answer must not match a newer request. */
  #nextId: PortRequestId = 1
  #listening: Listening | null = null
  /** The other end is gone for good (the port said `close`, or `close()` was called here). */
  #closed = false
  /** Events taken and not yet acknowledged to the bridge. */
  #unacked = 0
  #ackTimer: ReturnType<typeof setTimeout> | null = null

  constructor(port: PortLike, opts: PortTransportOptions = {}) {
    this.#port = port
    this.#timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS
    this.#maxPending = opts.maxPending ?? MAX_PENDING_REQUESTS
    port.addEventListener('message', (e) => this.#receive(e))
    port.addEventListener('close', () => this.#portClosed())
    port.start?.()
  }

  async request(req: ApiRequest): Promise<ApiReply> {
    if (this.#closed) throw new NodeUnreachable('the connection to the node is closed')
    if (this.#pending.size >= this.#maxPending) {
      throw new NodeUnreachable(
        `the node has not answered ${this.#pending.size} requests; it may have stopped`,
      )
    }
    // Before anything is waited for: a body JSON cannot carry throws here, as in the web mode.
    const request = jsonSafe(req)
    const id = this.#nextId++
    return new Promise<ApiReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new NodeUnreachable(`the node did not answer within ${this.#timeoutMs / 1000} s`))
      }, this.#timeoutMs)
      this.#pending.set(id, { resolve, reject, timer })
      const message: RendererMessage = { v: V, kind: 'request', id, request }
      if (!this.#send(message)) {
        clearTimeout(timer)
        this.#pending.delete(id)
        reject(new NodeUnreachable('the request could not be sent to the node'))
      }
    })
  }

  /** One stream at a time: a second `listen` ends the first (the app has one hub). */
  listen(sink: EventSink): () => void {
    this.#stopListening()
    const l: Listening = { sink, attempt: 0, lostAt: null, timer: null }
    this.#listening = l
    sink.link({ state: 'connecting' })
    if (this.#closed) this.#down(l)
    else this.#listen()
    return () => {
      if (this.#listening === l) this.#stopListening()
    }
  }

  /** Ends everything on this port: waiting requests are rejected, the stream stops. */
  close(): void {
    this.#stopListening()
    this.#portClosed()
    try {
      this.#port.close()
    } catch {
      // Closed already: nothing more to end.
    }
  }

  #stopListening(): void {
    const l = this.#listening
    if (l === null) return
    this.#listening = null
    if (l.timer !== null) clearTimeout(l.timer)
    this.#send({ v: V, kind: 'unlisten' })
  }

  /** Asks for the stream, owing the bridge no acknowledgement, so a cut-off stream can reopen. */
  #listen(): void {
    this.#ack()
    this.#send({ v: V, kind: 'listen' })
  }

  /** Counts an event taken, acknowledging a batch of them when it is full or has waited enough. */
  #took(): void {
    this.#unacked++
    if (this.#unacked >= ACK_EVERY_EVENTS) this.#ack()
    else this.#ackTimer ??= setTimeout(() => this.#ack(), ACK_AFTER_MS)
  }

  #ack(): void {
    if (this.#ackTimer !== null) clearTimeout(this.#ackTimer)
    this.#ackTimer = null
    const events = this.#unacked
    if (events === 0) return
    this.#unacked = 0
    this.#send({ v: V, kind: 'ack', events })
  }

  #send(message: RendererMessage): boolean {
    if (this.#closed) return false
    try {
      this.#port.postMessage(message)
      return true
    } catch {
      // A closed port or a value it cannot clone; the caller says so in its own terms.
      return false
    }
  }

  #receive(e: PortEvent): void {
    const m = coreMessage(e.data)
    if (m === null) return // not from a bridge of this version: nothing to act on
    switch (m.kind) {
      case 'reply':
      case 'unreachable': {
        const p = this.#pending.get(m.id)
        if (p === undefined) return // timed out, or rejected when the link went down
        this.#pending.delete(m.id)
        clearTimeout(p.timer)
        if (m.kind === 'reply') p.resolve({ status: m.status, body: m.body, headers: m.headers })
        else p.reject(new NodeUnreachable(`the node is not answering (${m.error})`))
        return
      }
      case 'event':
        // Counted whether or not a sink wants it: the bridge counts every event it posted.
        try {
          this.#listening?.sink.message(m.message)
        } finally {
          this.#took()
        }
        return
      case 'link': {
        const l = this.#listening
        if (l === null) return
        if (m.state === 'open') {
          l.attempt = 0
          l.lostAt = null
          l.sink.link({ state: 'open' })
        } else {
          // Every event of the stream came before its `down`: owe none when asking again.
          this.#ack()
          this.#rejectAll('the link to the node went down')
          this.#down(l, m.cause)
        }
        return
      }
    }
  }

  /** Reports the stream lost and asks again after the back-off. */
  #down(l: Listening, cause?: CoreDownCause): void {
    if (l.timer !== null) return // a try is already due; a second `down` for it changes nothing
    const now = Date.now()
    l.lostAt ??= now
    const delay = retryDelay(l.attempt)
    l.attempt++
    l.sink.link({
      state: 'down',
      since: l.lostAt,
      retryAt: now + delay,
      ...(cause === undefined ? {} : { cause }),
    })
    l.timer = setTimeout(() => {
      l.timer = null
      if (this.#listening !== l) return
      if (this.#closed) this.#down(l)
      else this.#listen()
    }, delay)
  }

  #portClosed(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#ackTimer !== null) clearTimeout(this.#ackTimer)
    this.#ackTimer = null
    this.#rejectAll('the connection to the node is closed')
    const l = this.#listening
    // A port that is gone stays gone; the link shows down (and keeps its back-off) until the app
    // makes a new transport.
    if (l !== null) this.#down(l)
  }

  #rejectAll(why: string): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer)
      this.#pending.delete(id)
      p.reject(new NodeUnreachable(why))
    }
  }
}

/**
 * The request as plain data, so that what the port clones is what the bridge will send as JSON;
 * a body JSON cannot carry (a bigint, a cycle) fails here, as it would in the web mode's fetch.
 */
function jsonSafe(req: ApiRequest): ApiRequest {
  const out: { -readonly [K in keyof ApiRequest]: ApiRequest[K] } = {
    method: req.method,
    path: req.path,
  }
  if (req.body !== undefined) out.body = JSON.parse(JSON.stringify(req.body)) as unknown
  if (req.headers !== undefined) out.headers = { ...req.headers }
  return out
}

/** The message if it is one the bridge sends, else null. The core is trusted; this is for bugs. */
function coreMessage(data: unknown): CoreMessage | null {
  if (typeof data !== 'object' || data === null) return null
  const m = data as Partial<Record<string, unknown>>
  if (m.v !== V) return null
  switch (m.kind) {
    case 'reply':
      return typeof m.id === 'number' &&
        typeof m.status === 'number' &&
        typeof m.headers === 'object' &&
        m.headers !== null
        ? (data as CoreMessage)
        : null
    case 'unreachable':
      return typeof m.id === 'number' && typeof m.error === 'string' ? (data as CoreMessage) : null
    case 'event':
      return typeof m.message === 'object' &&
        m.message !== null &&
        typeof (m.message as Partial<EventMessage>).type === 'string'
        ? (data as CoreMessage)
        : null
    case 'link':
      if (m.state !== 'open' && m.state !== 'down') return null
      if (m.cause === undefined) return data as CoreMessage
      return isCause(m.cause) ? (data as CoreMessage) : null
    default:
      return null
  }
}

function isCause(c: unknown): c is CoreDownCause {
  if (typeof c !== 'object' || c === null) return false
  const x = c as Partial<Record<string, unknown>>
  return typeof x.text === 'string' && typeof x.restarting === 'boolean'
}
