/**
 * `tally node`: one headless node and its API. When it is ready it prints one JSON line that
 * tools read (`{"event":"ready",…}`), and writes the API's address and token to `api.json` in
 * its data folder (readable by this user only), which `tally submit --data` and `status` use.
 * The API port also serves the built interface; the address to open, token included, goes to
 * stderr as `ui: http://127.0.0.1:<port>/#token=<token>`.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ApiServer, startApi } from '../api/server.ts'
import { Machine } from '../node/index.ts'
import { integer, type Options, required, UsageError } from './options.ts'

export const API_FILE = 'api.json'
/** The built interface, served from the API port (see core/api/static.ts). */
const UI_DIR = fileURLToPath(new URL('../../renderer/dist', import.meta.url))

/** What to start a node with: `tally node`'s options, checked. */
export interface NodeLaunch {
  readonly dataDir: string
  readonly listen?: readonly string[]
  readonly peers?: readonly string[]
  readonly mdns?: boolean
  /** The settings' port (0: any free one) unless given. */
  readonly apiPort?: number
  readonly token?: string
  readonly testHooks?: boolean
  /** Serve the built interface from the API port (web mode); the desktop app does not. */
  readonly serveUi?: boolean
}

/** A node started with its API, until `close()`. */
export interface OpenNode {
  readonly machine: Machine
  readonly api: ApiServer
  readonly nodeId: string
  /** Resolves with the error that stopped the node on its own (never, if it keeps running). */
  readonly failed: Promise<Error>
  /** Closes the API and stops the node; removes `api.json`. Safe to call more than once. */
  close(): Promise<void>
}

/**
 * Starts the machine on `dataDir` and its API on loopback, and writes `api.json` (address and
 * token, this user only) so that `tally submit --data` and `status` find it. The one way every
 * host of the core starts it: `tally node`, `tally start`'s web mode and the desktop app's
 * utility process (core/cli/desktop-core.ts).
 */
export async function openNode(l: NodeLaunch): Promise<OpenNode> {
  let fail: (error: Error) => void = () => {}
  const failed = new Promise<Error>((resolve) => {
    fail = resolve
  })
  const machine = await Machine.start({
    dataDir: l.dataDir,
    ...(l.listen === undefined ? {} : { listen: l.listen }),
    ...(l.peers === undefined ? {} : { peers: l.peers }),
    ...(l.mdns === undefined ? {} : { mdns: l.mdns }),
    onFatal: (error) => fail(error),
  })
  const settings = machine.node?.settings ?? machine.lobby!.settings
  let api: ApiServer
  try {
    api = await startApi(machine, {
      port: l.apiPort ?? settings.apiPort,
      ...(l.token === undefined ? {} : { token: l.token }),
      testHooks: l.testHooks === true,
      ...(l.serveUi === true ? { staticDir: UI_DIR } : {}),
    })
  } catch (error) {
    await machine.stop()
    throw error
  }
  const apiFile = join(l.dataDir, API_FILE)
  writeFileSync(apiFile, JSON.stringify({ api: api.url, token: api.token, pid: process.pid }), {
    mode: 0o600,
  })
  let closing: Promise<void> | null = null
  return {
    machine,
    api,
    nodeId: machine.node?.id ?? machine.lobby!.id,
    failed,
    close: () => {
      closing ??= (async () => {
        await api.close()
        await machine.stop()
        rmSync(apiFile, { force: true })
      })()
      return closing
    },
  }
}

/** Whether the interface is built, so that the API port can serve it. */
export function uiBuilt(): boolean {
  return existsSync(join(UI_DIR, 'index.html'))
}

/** Where to open the interface of `api`, or why it cannot be opened, in one line for stderr. */
function uiLine(api: ApiServer): string {
  return uiBuilt()
    ? `ui: ${api.url}/#token=${api.token}`
    : `ui: the interface is not built (${UI_DIR} has no index.html); \`npm run build\` builds it`
}

export async function runNode(o: Options): Promise<number> {
  const dataDir = required(o, 'data')
  if (o.mdns === true && o['no-mdns'] === true)
    throw new UsageError('--mdns or --no-mdns, not both')
  const listen = o.listen as string[] | undefined
  const peers = o.peer as string[] | undefined
  // Before the machine starts, so that a bad file starts and stops nothing.
  const token = typeof o['token-file'] === 'string' ? tokenFrom(o['token-file']) : undefined
  const apiPort = o['api-port'] === undefined ? undefined : integer(o, 'api-port', 0, 0, 65_535)
  const node = await openNode({
    dataDir,
    ...(listen === undefined ? {} : { listen }),
    ...(peers === undefined ? {} : { peers }),
    ...(o.mdns === true ? { mdns: true } : {}),
    ...(o['no-mdns'] === true ? { mdns: false } : {}),
    ...(apiPort === undefined ? {} : { apiPort }),
    ...(token === undefined ? {} : { token }),
    testHooks: o['test-hooks'] === true,
    serveUi: true,
  })
  const { machine, api } = node
  const watchStdin = o['stop-on-stdin-eof'] === true
  const stopped = watchStdin
    ? Promise.race([untilSignal('tally node'), untilStdinEnds('tally node')])
    : untilSignal('tally node')
  console.log(
    JSON.stringify({
      event: 'ready',
      pid: process.pid,
      nodeId: node.nodeId,
      addrs: machine.node?.addrs() ?? machine.lobby!.addrs(),
      api: api.url,
      token: api.token,
      // Null on a first run: the machine waits for its user to create or join a ledger.
      ledger: machine.node?.ledger ?? null,
    }),
  )
  // For people, on stderr: stdout stays the one JSON line that tools read.
  console.error(uiLine(api))
  if (machine.node === null) {
    console.error(
      `tally node: no ledger in ${dataDir} yet: create one (tally create --data ${dataDir} --name NAME) or join one (tally join)`,
    )
  }
  const outcome = await Promise.race([stopped.then(() => null), node.failed])
  await node.close()
  // A stdin still being read would keep the process alive after the node closed.
  if (watchStdin) process.stdin.destroy()
  if (outcome !== null) {
    console.error(`tally node: stopped: ${outcome.message}`)
    return 1
  }
  return 0
}

/** Resolves at the first SIGTERM or SIGINT, saying so on stderr under `name`. */
export function untilSignal(name: string): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false
    // Kept after the first: a second Ctrl-C while the node stops must not kill it half-way.
    const stop = (signal: string) => {
      if (stopping) return
      stopping = true
      console.error(`${name}: ${signal}, stopping`)
      resolve()
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
  })
}

/**
 * Resolves when standard input reaches its end or fails, saying so on stderr under `name`. A
 * parent that spawns the node with a pipe on stdin takes the node down with it when it exits,
 * however it exits: the kernel closes the pipe even after a SIGKILL, which no signal handler of
 * the parent can cover.
 */
function untilStdinEnds(name: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      console.error(`${name}: standard input closed, stopping`)
      resolve()
    }
    process.stdin.once('end', stop)
    process.stdin.once('error', stop)
    // What the parent writes means nothing; reading it is how the end is seen.
    process.stdin.on('data', () => {})
  })
}

/**
 * A fixed API token, for a browser tab that must outlive a restart of its node (`tally demo`).
 * Read from a file rather than an argument, which any user of the machine can see in `ps`; a
 * file that other users can read is used, with a warning on stderr.
 */
export function tokenFrom(file: string, warn: (line: string) => void = console.error): string {
  let token: string
  let fd: number | null = null
  try {
    fd = openSync(file, 'r')
    const mode = fstatSync(fd).mode & 0o777
    if ((mode & 0o077) !== 0) {
      warn(
        `tally node: warning: --token-file ${file} can be read or changed by other users (mode ${mode.toString(8).padStart(3, '0')}); chmod 600 it`,
      )
    }
    token = readFileSync(fd, 'utf8').trim()
  } catch (error) {
    throw new UsageError(`--token-file: ${(error as Error).message}`)
  } finally {
    if (fd !== null) closeSync(fd)
  }
  // The characters a URL fragment carries as they are, as the page reading `#token=` expects.
  if (!/^[A-Za-z0-9._~-]{32,256}$/.test(token)) {
    throw new UsageError(`--token-file: ${file} must hold 32 to 256 characters [A-Za-z0-9._~-]`)
  }
  return token
}
