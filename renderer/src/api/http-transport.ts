/**
 * The web mode's transport: fetch with the bearer token, and the event stream as a WebSocket
 * (browsers cannot put headers on one, so the token rides in its query, which the node accepts
 * for that path only). The stream reconnects by itself with a growing delay, so a node that is
 * restarted comes back into view without a reload.
 */
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

export class HttpTransport implements Transport {
  readonly #base: string
  readonly #token: string

  constructor(base: string, token: string) {
    this.#base = base.replace(/\/$/, '')
    this.#token = token
  }

  async request(req: ApiRequest): Promise<ApiReply> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      ...req.headers,
    }
    const init: RequestInit = { method: req.method, headers }
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(req.body)
    }
    init.signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    let res: Response
    try {
      res = await fetch(this.#base + req.path, init)
    } catch (error) {
      throw new NodeUnreachable(`the node is not answering (${(error as Error).message})`)
    }
    let body: unknown = null
    const text = await res.text().catch(() => '')
    if (text !== '') {
      try {
        body = JSON.parse(text)
      } catch {
        body = { error: text.slice(0, 500) }
      }
    }
    const out: Record<string, string> = {}
    res.headers.forEach((v, k) => {
      out[k] = v
    })
    return { status: res.status, body, headers: out }
  }

  listen(sink: EventSink): () => void {
    let socket: WebSocket | null = null
    let timer: ReturnType<typeof setTimeout> | null = null
    let attempt = 0
    let lostAt: number | null = null
    let stopped = false

    const open = () => {
      if (stopped) return
      if (lostAt === null) sink.link({ state: 'connecting' })
      const url = new URL(`${this.#base}/api/events`, location.href)
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
      url.searchParams.set('token', this.#token)
      const ws = new WebSocket(url)
      socket = ws
      ws.onmessage = (e) => {
        if (typeof e.data !== 'string') return
        let m: EventMessage
        try {
          m = JSON.parse(e.data) as EventMessage
        } catch {
          return
        }
        if (m.type === 'hello' || m.type === 'setup') {
          attempt = 0
          lostAt = null
          sink.link({ state: 'open' })
        }
        sink.message(m)
      }
      ws.onclose = () => {
        if (socket !== ws || stopped) return
        socket = null
        const now = Date.now()
        lostAt ??= now
        const delay = retryDelay(attempt)
        attempt++
        sink.link({ state: 'down', since: lostAt, retryAt: now + delay })
        timer = setTimeout(open, delay)
      }
    }
    open()
    return () => {
      stopped = true
      if (timer !== null) clearTimeout(timer)
      socket?.close()
      socket = null
    }
  }
}
