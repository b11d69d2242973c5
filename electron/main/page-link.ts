/**
 * Which port the page holds to the core, and when it gets a new one: at each load of the page (it
 * asks), and at each new core process if the page has asked since it loaded. Never a second port
 * to the same core for the same page load: the core would serve both, and the relay in the
 * preload would drop the first with requests still on it.
 *
 * Pure: main passes in the supervisor and how to make and send ports.
 */
import type { CoreDownCause } from '../../core/api/port-protocol.ts'
import type { CoreLife } from './core-supervisor.ts'

export interface PageLinkDeps<P> {
  readonly supervisor: {
    readonly life: CoreLife
    readonly generation: number
    connect(port: P): boolean
  }
  /** A new channel: one end for the core, one for the page. */
  channel(): { readonly core: P; readonly page: P; close(): void }
  sendPort(port: P): void
  sendDown(cause: CoreDownCause): void
}

export class PageLink<P> {
  readonly #deps: PageLinkDeps<P>
  /** The page has asked for a port since it loaded. */
  #wants = false
  /** The core generation the page's port goes to; null when it has none. */
  #portFor: number | null = null

  constructor(deps: PageLinkDeps<P>) {
    this.#deps = deps
  }

  /** The page (re)loaded and asks: whatever port its last load had went with it. */
  pageLoaded(): void {
    this.#wants = true
    this.#portFor = null
    this.#connect()
  }

  /** The page's process is gone (it crashed, or the window closed): it will ask again on load. */
  pageGone(): void {
    this.#wants = false
    this.#portFor = null
  }

  /** A new core process started. */
  coreStarted(): void {
    if (this.#wants) this.#connect()
  }

  /** The core's process is not running: the page is told why. */
  coreDown(cause: CoreDownCause): void {
    this.#portFor = null
    this.#deps.sendDown(cause)
  }

  #connect(): void {
    const { supervisor } = this.#deps
    const life = supervisor.life
    if (life.state === 'down') {
      this.#deps.sendDown(life.cause)
      return
    }
    if (this.#portFor === supervisor.generation) return
    const channel = this.#deps.channel()
    if (supervisor.connect(channel.core)) {
      this.#portFor = supervisor.generation
      this.#deps.sendPort(channel.page)
    } else channel.close()
  }
}
