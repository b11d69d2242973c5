/**
 * The desktop app's core (core/cli/desktop-core.ts) in a real child process, as main runs it in
 * Electron's utility process: started with `--data`, told `connect` and `stop`, telling `ready`,
 * `status` and `fatal`. Only Electron's transport of the messages and ports is stood in for
 * (parent-port-shim.ts).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'
import type { CoreToMain } from '../../../core/api/desktop-protocol.ts'
import type { PortEvent, PortLike } from '../../../core/api/port-protocol.ts'
import { until } from '../api/helpers.ts'

/** The switches that keep a test's node on this machine (as `tally node` takes them). */
export const LOOPBACK = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'] as const

const SHIM = join(import.meta.dirname, 'parent-port-shim.ts')

/** One core process, what it told main, and a port to it as the renderer has one. */
export class Core {
  readonly child: ChildProcess
  readonly told: CoreToMain[] = []
  readonly exited: Promise<number | null>
  stderr = ''
  readonly #portListeners: ((e: PortEvent) => void)[] = []

  constructor(dataDir: string) {
    // Loopback only and no mDNS: a test reaches nothing beyond this machine.
    this.child = fork(SHIM, ['--data', dataDir, ...LOOPBACK], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    this.child.stderr!.on('data', (d) => {
      this.stderr += String(d)
    })
    this.child.on('message', (raw) => {
      const m = raw as { from: string; data: unknown }
      if (m.from === 'core') this.told.push(m.data as CoreToMain)
      else if (m.from === 'port') {
        for (const l of this.#portListeners) l({ type: 'message', data: m.data })
      }
    })
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)))
  }

  /** What main does for a window: a new port, handed to the core. */
  connect(): PortLike {
    this.child.send({ to: 'core', data: { type: 'connect' } })
    return {
      postMessage: (data) => {
        // As a closed MessagePort does; a send that fails later has nobody left to tell.
        if (!this.child.connected) throw new Error('the core process is gone')
        this.child.send({ to: 'port', data }, () => {})
      },
      addEventListener: (type, listener) => {
        if (type === 'message') this.#portListeners.push(listener)
      },
      close: () => {},
    }
  }

  stop(): void {
    this.child.send({ to: 'core', data: { type: 'stop' } })
  }

  async heard<T extends CoreToMain>(what: string, match: (m: CoreToMain) => m is T): Promise<T> {
    await until(
      what,
      () => this.told.some(match),
      30_000,
      () => this.stderr,
    )
    return this.told.find(match)!
  }
}
