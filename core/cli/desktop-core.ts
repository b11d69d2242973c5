/**
 * The core as the desktop app runs it: in Electron's utility process, started by the main process
 * (electron/main/core-supervisor.ts) with `--data DIR` (and, like `tally node`, `--listen` and
 * `--no-mdns` when main was given them: tests keep the core on loopback with them). It runs the node and its API on loopback
 * like `tally node`, and serves each renderer port main hands it by bridging it to that API
 * (core/api/port-bridge.ts), so the desktop app goes through the same auth, idempotency and
 * limits as every other client. The API's token never leaves this process.
 *
 * It tells main what the tray needs (core/api/desktop-protocol.ts) and stops the node cleanly
 * when told to. A failure that a restart would only meet again (the data folder held by another
 * process, a damaged file, a safety stop) is reported as `fatal` and ends with CORE_EXIT_FATAL, so
 * main says why instead of restarting it in a loop; anything else is a crash main restarts.
 *
 * Written against the few members of Electron's `parentPort` and `MessagePortMain` it uses, so
 * that core/ needs nothing from Electron, and a test can run it under plain Node with a stand-in
 * parent port (test/unit/electron/parent-port-shim.ts).
 */
import {
  CORE_EXIT_FATAL,
  type CoreSummary,
  type CoreToMain,
  type MainToCore,
} from '../api/desktop-protocol.ts'
import { bridgePort, type PortBridge } from '../api/port-bridge.ts'
import type { PortEvent, PortLike } from '../api/port-protocol.ts'
import { type ApiHost, setupView } from '../api/setup-routes.ts'
import { useSqliteBinding } from '../node/index.ts'
import { type NodeLaunch, type OpenNode, openNode } from './node-command.ts'
import { options, UsageError } from './options.ts'

/** Electron's `MessagePortMain`, as far as used here. */
export interface MainPort {
  on(event: 'message', listener: (e: PortEvent) => void): void
  on(event: 'close', listener: () => void): void
  postMessage(message: unknown): void
  start(): void
  close(): void
}

/** Electron's `process.parentPort` in a utility process, as far as used here. */
export interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown; ports: readonly MainPort[] }) => void): void
  postMessage(message: CoreToMain): void
}

/** How often the tray's figures are read; they are sent only when they change. */
const SUMMARY_EVERY_MS = 1_000
/** Renderer ports held while the node starts: main sends one per window load. */
const MAX_WAITING_PORTS = 4

/**
 * Runs the core until main says `stop` (resolves 0) or the node fails (resolves
 * CORE_EXIT_FATAL after telling main why). Throws only on a bug, which the caller lets crash.
 */
export async function runDesktopCore(parent: ParentPort, args: readonly string[]): Promise<number> {
  let launch: NodeLaunch
  try {
    const o = options(args, {
      data: { type: 'string' },
      'sqlite-binding': { type: 'string' },
      listen: { type: 'string', multiple: true },
      'no-mdns': { type: 'boolean' },
    })
    if (typeof o.data !== 'string') throw new UsageError('--data DIR is required')
    const listen = o.listen as string[] | undefined
    launch = {
      dataDir: o.data,
      ...(listen === undefined ? {} : { listen }),
      ...(o['no-mdns'] === true ? { mdns: false } : {}),
    }
    if (typeof o['sqlite-binding'] === 'string') useSqliteBinding(o['sqlite-binding'])
  } catch (error) {
    return fatal(parent, `the core was started wrongly: ${message(error)}`)
  }

  let node: OpenNode | null = null
  const bridges = new Set<PortBridge>()
  const waiting: MainPort[] = []
  let stopRequested: () => void = () => {}
  const stopped = new Promise<void>((resolve) => {
    stopRequested = resolve
  })
  const serve = (port: MainPort) => {
    if (node === null) {
      // The oldest is a window that has since reloaded: its port is stale.
      if (waiting.length >= MAX_WAITING_PORTS) waiting.shift()?.close()
      waiting.push(port)
      return
    }
    const bridge = bridgePort(portLike(port), node.api)
    bridges.add(bridge)
    port.on('close', () => bridges.delete(bridge))
  }
  parent.on('message', (e) => {
    const m = e.data as Partial<MainToCore> | null
    if (m?.type === 'connect' && e.ports.length === 1) serve(e.ports[0]!)
    else if (m?.type === 'stop') stopRequested()
    // Anything else is a bug in main; there is nobody to answer it to.
  })

  try {
    node = await openNode(launch)
  } catch (error) {
    return fatal(parent, message(error))
  }
  const open = node
  parent.postMessage({ type: 'ready', dataDir: launch.dataDir, nodeId: open.nodeId })
  for (const port of waiting.splice(0)) serve(port)

  let last = ''
  const report = () => {
    const status = summary(open.machine)
    const text = JSON.stringify(status)
    if (status === null || text === last) return
    last = text
    parent.postMessage({ type: 'status', status })
  }
  report()
  const timer = setInterval(report, SUMMARY_EVERY_MS)
  const outcome = await Promise.race([stopped.then(() => null), open.failed])
  clearInterval(timer)
  for (const bridge of bridges) bridge.close()
  await open.close()
  if (outcome === null) return 0
  return fatal(parent, outcome.message)
}

/** How long a core that is about to exit waits for its last words to reach main. */
const LAST_WORDS_MS = 200

/**
 * Tells main why the core cannot go on, on both channels (main may see the exit before the
 * message, and stops reading stderr at the exit), and gives them a moment to arrive.
 */
async function fatal(parent: ParentPort, error: string): Promise<number> {
  parent.postMessage({ type: 'fatal', error })
  console.error(`tally core: ${error}`)
  await new Promise((resolve) => setTimeout(resolve, LAST_WORDS_MS))
  return CORE_EXIT_FATAL
}

/** The tray's figures; null while the machine is between its lobby and its node. */
export function summary(host: ApiHost): CoreSummary | null {
  const node = host.node
  if (node !== null) {
    const s = node.status()
    return {
      kind: 'member',
      ledgerName: s.ledgerName,
      height: s.height,
      members: s.members,
      online: s.online,
      quorum: s.quorum,
      hasQuorum: s.hasQuorum,
    }
  }
  if (host.lobby === null) return null
  const state = setupView(host).state
  return state === 'member' ? null : { kind: 'setup', setup: state }
}

/** Electron's port has `on` where the bridge expects `addEventListener`. */
function portLike(port: MainPort): PortLike {
  return {
    postMessage: (m) => port.postMessage(m),
    addEventListener: (type, listener) => {
      if (type === 'message') port.on('message', listener)
      else port.on('close', () => listener({ type: 'close' }))
    },
    start: () => port.start(),
    close: () => port.close(),
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
