/**
 * The page's port to its core, kept across the core's restarts. Each core process gets a new
 * MessagePort from main; the page keeps one `PortTransport` for its whole life. The relay stands
 * between them: it forwards both ways while a core port is attached and, while none is, answers
 * the page itself: a request with `unreachable`, a `listen` with a `down` that says why the core
 * is not running (`CoreDownCause`, which the window shows). When the core goes, requests it
 * had not answered are answered `unreachable` and an open stream is told `down`, so nothing waits
 * on a process that is gone.
 *
 * Until the first core port arrives (the app is starting, which takes a moment), requests and a
 * `listen` are held rather than refused, up to a bound, and sent on once it does: the window then
 * opens on its content, not on an alarm. When a core port is attached and the page wants the
 * event stream, the relay asks the new core for it at once, so the page does not wait out its
 * back-off to see the restarted core.
 *
 * It also keeps the event acknowledgements right per port: a new core's bridge has posted nothing
 * yet, so acknowledgements the page still owes the old one are not passed on to it.
 *
 * Pure (no Electron, no DOM): the preload wires it to the ports and IPC (index.ts).
 */
import type {
  CoreDownCause,
  CoreMessage,
  PortEvent,
  PortLike,
  PortProtocolVersion,
  RendererMessage,
} from '../../core/api/port-protocol.ts'

const V: PortProtocolVersion = 1

/** Requests forwarded and not yet answered, kept to answer them if the core goes: bounded. */
const MAX_OUTSTANDING = 1_024
/** Requests held while the app starts: the page's own bound (PortTransport's 64 waiting). */
const MAX_HELD = 64

/** Until main says otherwise: the core's process is being started. */
export const STARTING: CoreDownCause = { text: "Tally's core is starting…", restarting: true }
const LOST: CoreDownCause = { text: "Tally's core stopped answering.", restarting: true }

type Listener = (event: PortEvent) => void

export class PortRelay {
  #core: PortLike | null = null
  #cause: CoreDownCause = STARTING
  #listeners: Listener[] = []
  #started = false
  #early: CoreMessage[] = []
  #outstanding = new Set<number>()
  /** The stream is open (or being opened) on the attached core. */
  #listening = false
  /** The page wants the stream: a `listen` since its last `unlisten`. */
  #wantsStream = false
  /** No core port has come yet, nor a cause from main: requests and `listen` wait. */
  #starting = true
  /** Requests held while starting, in order. A `listen` is held as `#wantsStream`. */
  #held: RendererMessage[] = []
  /** Events the current core port posted that the page has not acknowledged yet. */
  #owed = 0
  #closed = false

  /** What the page gets as its port (`window.tally.port`). */
  readonly page: PortLike = {
    postMessage: (m) => this.#fromPage(m),
    addEventListener: (type, listener) => {
      if (type === 'message') this.#listeners.push(listener)
    },
    start: () => {
      if (this.#started) return
      this.#started = true
      for (const m of this.#early.splice(0)) this.#toPage(m)
    },
    close: () => {
      this.#closed = true
      this.#detachPort()
    },
  }

  /** A new core is reachable on `port`. */
  attach(port: PortLike): void {
    this.#detachPort()
    if (this.#closed) {
      port.close()
      return
    }
    this.#core = port
    this.#owed = 0
    this.#starting = false
    port.addEventListener('message', (e) => {
      if (this.#core === port) this.#fromCore(e.data)
    })
    port.addEventListener('close', () => {
      if (this.#core === port) this.detach(LOST)
    })
    port.start?.()
    for (const m of this.#held.splice(0)) this.#fromPage(m)
    if (this.#wantsStream) {
      this.#listening = true
      this.#post(port, { v: V, kind: 'listen' })
    }
  }

  /** The core is not running (main said why, or its port closed). */
  detach(cause: CoreDownCause): void {
    // What waited for the first core gets its answer now.
    const heldListen = this.#starting && this.#wantsStream
    this.#cause = cause
    this.#starting = false
    this.#detachPort()
    for (const m of this.#held.splice(0)) {
      if (m.kind === 'request') this.#unreachable(m.id)
    }
    if (heldListen) this.#toPage({ v: V, kind: 'link', state: 'down', cause })
  }

  #detachPort(): void {
    const port = this.#core
    if (port === null) return
    this.#core = null
    try {
      port.close()
    } catch {
      // Gone already.
    }
    for (const id of this.#outstanding) this.#unreachable(id)
    this.#outstanding.clear()
    if (this.#listening) {
      this.#listening = false
      this.#toPage({ v: V, kind: 'link', state: 'down', cause: this.#cause })
    }
  }

  #fromPage(data: unknown): void {
    const m = data as Partial<RendererMessage> | null
    if (this.#closed || m === null || typeof m !== 'object' || m.v !== V) return
    if (m.kind === 'listen') this.#wantsStream = true
    else if (m.kind === 'unlisten') this.#wantsStream = false
    const core = this.#core
    if (core === null) {
      if (m.kind === 'request' && typeof m.id === 'number') {
        if (this.#starting && this.#held.length < MAX_HELD) this.#held.push(m as RendererMessage)
        else this.#unreachable(m.id)
      } else if (m.kind === 'listen' && !this.#starting) {
        this.#toPage({ v: V, kind: 'link', state: 'down', cause: this.#cause })
      }
      return
    }
    switch (m.kind) {
      case 'request':
        if (typeof m.id !== 'number') return
        if (this.#outstanding.size >= MAX_OUTSTANDING) {
          this.#toPage({ v: V, kind: 'unreachable', id: m.id, error: 'too many requests waiting' })
          return
        }
        this.#outstanding.add(m.id)
        break
      case 'listen':
        this.#listening = true
        break
      case 'unlisten':
        this.#listening = false
        break
      case 'ack': {
        // Only what this port posted: the rest was owed to a core that is gone.
        const events = Math.min(typeof m.events === 'number' ? m.events : 0, this.#owed)
        if (events <= 0) return
        this.#owed -= events
        this.#post(core, { v: V, kind: 'ack', events })
        return
      }
      default:
        return
    }
    this.#post(core, data)
  }

  #fromCore(data: unknown): void {
    const m = data as Partial<CoreMessage> | null
    if (m === null || typeof m !== 'object') return
    if ((m.kind === 'reply' || m.kind === 'unreachable') && typeof m.id === 'number') {
      this.#outstanding.delete(m.id)
    } else if (m.kind === 'event') {
      this.#owed++
    } else if (m.kind === 'link' && m.state === 'down') {
      this.#listening = false
    }
    this.#toPage(data as CoreMessage)
  }

  #unreachable(id: number): void {
    this.#toPage({ v: V, kind: 'unreachable', id, error: this.#cause.text })
  }

  #post(port: PortLike, message: unknown): void {
    try {
      port.postMessage(message)
    } catch {
      this.detach(LOST)
    }
  }

  #toPage(message: CoreMessage): void {
    if (this.#closed) return
    if (!this.#started) {
      // A page that has not started its port yet gets these once it does, as a MessagePort would.
      if (this.#early.length < MAX_OUTSTANDING) this.#early.push(message)
      return
    }
    for (const l of this.#listeners) l({ type: 'message', data: message })
  }
}
