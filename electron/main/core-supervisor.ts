/**
 * Runs the core in its utility process and keeps it running: starts it, hands it renderer ports,
 * restarts it after a crash by the restart policy, and stops it cleanly when the app quits. It
 * reports the core's life and figures to whoever shows them (tray, window).
 *
 * Written against the members of Electron's `UtilityProcess` it uses, with the fork, clock and
 * timers passed in, so its lifecycle is tested without Electron (test/unit/electron/).
 */
import type { CoreSummary, CoreToMain, MainToCore } from '../../core/api/desktop-protocol.ts'
import type { CoreDownCause } from '../../core/api/port-protocol.ts'
import { type CoreExit, exitWords, type RestartPolicy } from './restart-policy.ts'

/** Where the core's process stands. */
export type CoreLife =
  | { readonly state: 'starting' }
  | { readonly state: 'running' }
  /** Not running: `cause.restarting` says whether it is being started again. */
  | { readonly state: 'down'; readonly cause: CoreDownCause }

/** Electron's `UtilityProcess`, as far as used here; `P` is its port type (MessagePortMain). */
export interface CoreChild<P> {
  on(event: 'spawn', listener: () => void): unknown
  on(event: 'exit', listener: (code: number) => void): unknown
  on(event: 'message', listener: (message: unknown) => void): unknown
  postMessage(message: MainToCore, transfer?: P[]): void
  kill(): boolean
  /** Piped, so that its last words can be told to the user. */
  readonly stderr: { on(event: 'data', listener: (chunk: Buffer | string) => void): unknown } | null
}

export interface SupervisorDeps<P> {
  fork(): CoreChild<P>
  readonly policy: RestartPolicy
  now(): number
  setTimer(fn: () => void, ms: number): unknown
  clearTimer(timer: unknown): void
  /** Where the core's stderr goes as well (main's own stderr). */
  log(line: string): void
}

export type SupervisorListener = (life: CoreLife, summary: CoreSummary | null) => void

/** How long a core told to stop may take before it is killed. */
export const STOP_TIMEOUT_MS = 10_000
/** How long after the kill the app waits for the core's exit before it quits anyway. */
export const KILL_GRACE_MS = 5_000
/**
 * The core's stderr lines kept to find what it said last (an uncaught error's report with its
 * cause runs to a few dozen); each is cut to MAX_LINE.
 */
const KEPT_LINES = 50
const MAX_LINE = 400

export class CoreSupervisor<P> {
  readonly #deps: SupervisorDeps<P>
  #child: CoreChild<P> | null = null
  #life: CoreLife = { state: 'starting' }
  #summary: CoreSummary | null = null
  #listeners = new Set<SupervisorListener>()
  #started = new Set<() => void>()
  #restartTimer: unknown = null
  #stopping: Promise<void> | null = null
  #fatal: string | null = null
  #generation = 0
  #stderr: string[] = []
  #partial = ''

  constructor(deps: SupervisorDeps<P>) {
    this.#deps = deps
  }

  get life(): CoreLife {
    return this.#life
  }

  get summary(): CoreSummary | null {
    return this.#summary
  }

  /** Called at each change of the core's life or figures. */
  onChange(listener: SupervisorListener): void {
    this.#listeners.add(listener)
  }

  /** Called each time a new core process has started: ports handed out before are gone. */
  onStarted(listener: () => void): void {
    this.#started.add(listener)
  }

  start(): void {
    if (this.#child !== null || this.#stopping !== null) return
    this.#fatal = null
    this.#stderr = []
    this.#partial = ''
    let child: CoreChild<P>
    try {
      child = this.#deps.fork()
    } catch (error) {
      // Nothing to restart: the app's own files are missing or the system refused a process.
      const text = `Tally could not start its core: ${(error as Error).message}. Quit Tally and start it again; if this keeps happening, reinstall it.`
      this.#deps.log(`core: ${text}`)
      this.#set({ state: 'down', cause: { text, restarting: false } }, null)
      return
    }
    this.#child = child
    this.#generation++
    this.#set({ state: 'starting' }, null)
    // Each listener checks that the child is still the current one: a process being replaced can
    // still speak, and what it says is about a core that is gone.
    child.stderr?.on('data', (chunk) => this.#heard(String(chunk)))
    child.on('spawn', () => {
      if (this.#child !== child) return
      for (const l of this.#started) l()
    })
    child.on('message', (m) => {
      if (this.#child === child) this.#message(m)
    })
    child.on('exit', (code) => this.#exited(child, code))
  }

  /**
   * Counts the core processes started: a port handed to generation n is gone once it changes,
   * so main hands the page a new one then, and only then.
   */
  get generation(): number {
    return this.#generation
  }

  /**
   * Hands a renderer's port to the running core; false (and the port is the caller's to close)
   * when no core runs. Ports are queued by the core until its node is up.
   */
  connect(port: P): boolean {
    if (this.#child === null || this.#stopping !== null) return false
    this.#child.postMessage({ type: 'connect' }, [port])
    return true
  }

  /** After the supervisor gave up: the user asked to try again, with the crash count cleared. */
  restartNow(): void {
    if (this.#child !== null || this.#stopping !== null) return
    if (this.#restartTimer !== null) this.#deps.clearTimer(this.#restartTimer)
    this.#restartTimer = null
    this.#deps.policy.reset()
    this.start()
  }

  /** Stops the core cleanly (it stops its node and exits), killing it after `timeoutMs`. */
  stop(timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      if (this.#restartTimer !== null) this.#deps.clearTimer(this.#restartTimer)
      this.#restartTimer = null
      const child = this.#child
      if (child === null) return resolve()
      let abandon: unknown = null
      const killer = this.#deps.setTimer(() => {
        this.#deps.log(`core: did not stop within ${timeoutMs / 1000} s; killing it`)
        child.kill()
        // A process stuck where a kill cannot reach it (a hung network disk) must not keep the
        // app from quitting: the OS ends it with the app.
        abandon = this.#deps.setTimer(() => {
          this.#deps.log('core: still running after the kill; quitting without it')
          resolve()
        }, KILL_GRACE_MS)
      }, timeoutMs)
      child.on('exit', () => {
        this.#deps.clearTimer(killer)
        if (abandon !== null) this.#deps.clearTimer(abandon)
        resolve()
      })
      child.postMessage({ type: 'stop' })
    })
    return this.#stopping
  }

  #message(m: unknown): void {
    const msg = m as Partial<CoreToMain> | null
    switch (msg?.type) {
      case 'ready':
        this.#set({ state: 'running' }, this.#summary)
        return
      case 'status':
        if (msg.status !== undefined) this.#set(this.#life, msg.status)
        return
      case 'fatal':
        if (typeof msg.error === 'string') this.#fatal = msg.error.slice(0, 2 * MAX_LINE)
        return
    }
  }

  #exited(child: CoreChild<P>, code: number): void {
    if (this.#child !== child) return
    this.#child = null
    if (this.#stopping !== null) {
      this.#set(
        { state: 'down', cause: { text: "Tally's core has stopped.", restarting: false } },
        null,
      )
      return
    }
    // A last line cut off without its newline is a line too.
    if (this.#partial !== '') this.#heard('\n')
    const exit: CoreExit = { code, lastWords: this.#fatal ?? lastWords(this.#stderr) }
    const verdict = this.#deps.policy.exited(this.#deps.now(), exit)
    let cause: CoreDownCause
    if (verdict.action === 'restart') {
      const said = exit.lastWords === null ? '' : `: ${exit.lastWords}`
      cause = {
        text: `Tally's core stopped unexpectedly (${exitWords(exit)}${said}); it is being started again.`,
        restarting: true,
      }
      this.#restartTimer = this.#deps.setTimer(() => {
        this.#restartTimer = null
        this.start()
      }, verdict.delayMs)
    } else {
      cause = {
        text: `${verdict.reason}. Use "Restart the core" in the tray menu, or quit Tally and start it again.`,
        restarting: false,
      }
    }
    this.#deps.log(`core: ${cause.text}`)
    this.#set({ state: 'down', cause }, null)
  }

  #heard(text: string): void {
    const lines = (this.#partial + text).split('\n')
    // The head of a long line is kept, as for one that came whole: it names the error.
    this.#partial = lines.pop()!.slice(0, MAX_LINE + 1)
    for (const raw of lines) {
      const line = raw.trim()
      if (line === '') continue
      this.#deps.log(`core: ${line}`)
      this.#stderr.push(line.length <= MAX_LINE ? line : `${line.slice(0, MAX_LINE)}…`)
      if (this.#stderr.length > KEPT_LINES) this.#stderr.shift()
    }
  }

  #set(life: CoreLife, summary: CoreSummary | null): void {
    this.#life = life
    this.#summary = summary
    for (const l of this.#listeners) l(life, summary)
  }
}

/**
 * The line of the core's stderr that says what went wrong, or null if it said nothing. Node ends
 * the report of an uncaught error with its stack, the error's own properties (its `cause` too) in
 * braces and its version ("Node.js v20…"): none of those says it, the error's first line does.
 */
export function lastWords(lines: readonly string[]): string | null {
  const at = (j: number) => lines[j] ?? ''
  let i = lines.length - 1
  if (/^Node\.js v\d/.test(at(i))) i--
  if (at(i) === '}') {
    // Back to the line that opened the properties, past any nested in them.
    for (let depth = 0; i >= 0; i--) {
      if (/^\},?$/.test(at(i))) depth++
      else if (at(i).endsWith('{') && --depth === 0) break
    }
  }
  while (i >= 0 && /^(at\s|\.\.\. \d+ )/.test(at(i))) i--
  if (i < 0) return lines.at(-1) ?? null
  return at(i).replace(/\s*\{$/, '')
}
