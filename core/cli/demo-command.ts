/**
 * `tally demo`: three members of one ledger on this machine, each its own `tally node` process,
 * with keys that stop and start each one, so that anyone can watch the other two carry on in
 * their browser tabs. A restarted node keeps its data folder, API port and token, so the tab that
 * showed it reconnects by itself.
 *
 * The data folder (`./.tally-demo` unless `--dir`) is made once with `tally testnet` and reused;
 * `--fresh` makes it again. The nodes run with `--no-mdns`: they know each other as static peers,
 * and the demo must not announce itself on the machine's real network.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { StatusView, TransferRequest } from '../api/types.ts'
import { DB_FILE } from '../node/node.ts'
import { createTestnet } from '../node/testnet.ts'
import { callApi } from './client.ts'
import { API_FILE } from './node-command.ts'
import { integer, type Options, UsageError } from './options.ts'

const BIN = resolve(import.meta.dirname, '../../bin/tally.js')
export const DEMO_NODES = 3
export const DEFAULT_DEMO_DIR = '.tally-demo'
/** Peers on P..P+2 and the APIs on P+100..P+102: away from `tally testnet`'s default 26650. */
export const DEFAULT_DEMO_BASE_PORT = 27_100
/**
 * Marks a folder this command made, so that `--fresh` deletes nothing else: a file of a name no
 * one else uses, holding `{"madeBy":"tally demo","version":1,…}`, checked by its content.
 */
export const MARK = '.tally-demo.json'
const MARK_MADE_BY = 'tally demo'
const MARK_VERSION = 1
/**
 * The marker of the first version of this command: `demo.json`, a name too common to trust. A
 * folder with one is taken as a demo folder only if the file holds exactly what that version
 * wrote and node0..node2 are there with their token files; it is then given the new marker.
 */
const LEGACY_MARK = 'demo.json'
const LEGACY_CONTENT = /^\{"nodes":3,"basePort":(\d{4,5})\}\n$/
/** The node's API token, kept across restarts (`tally node --token-file`). */
export const TOKEN_FILE = 'api-token'
/** How long a node may take from its start to serving its API. */
const READY_MS = 30_000
/** How long a stopping node may take before it is killed. */
const STOP_MS = 10_000

/** A few entries so that the ledger screen has something to show on a first run. */
const SEED: readonly TransferRequest[] = [
  { from: '@bank', to: 'alice', asset: 'EUR', amount: 120_000, memo: 'opening balance' },
  { from: '@bank', to: 'bob', asset: 'EUR', amount: 80_000, memo: 'opening balance' },
  { from: 'alice', to: 'bob', asset: 'EUR', amount: 2_450, memo: 'lunch' },
  { from: 'bob', to: 'carol', asset: 'EUR', amount: 1_999, memo: 'books' },
]

export type DemoNodeState = 'stopped' | 'starting' | 'running' | 'stopping'

export interface DemoNode {
  readonly index: number
  /** The member's name in the ledger (`node0`…), as its UI shows it. */
  readonly name: string
  /** The key that stops and starts it: `1` for node0. */
  readonly key: string
  readonly dir: string
  state: DemoNodeState
  pid: number | null
  /** `http://127.0.0.1:P` once it has served its API; kept while stopped (the port stays). */
  api: string | null
  token: string | null
  /** Its last stderr lines, shown when it exits by itself. */
  readonly log: string[]
}

/** What a key does: toggle node i (a stop by `signal` if it runs), print the state, or quit. */
export type KeyAction =
  | { readonly kind: 'toggle'; readonly node: number; readonly signal: 'SIGTERM' | 'SIGKILL' }
  | { readonly kind: 'state' }
  | { readonly kind: 'quit' }
  | { readonly kind: 'help' }

const KILL_KEYS = ['!', '@', '#']

export function keyAction(key: string): KeyAction | null {
  if (key === 'q' || key === 'Q' || key === '\u0003' || key === '\u0004') return { kind: 'quit' }
  if (key === 's' || key === 'S') return { kind: 'state' }
  if (key === 'h' || key === '?') return { kind: 'help' }
  const n = Number(key)
  if (/^[1-9]$/.test(key) && n <= DEMO_NODES) {
    return { kind: 'toggle', node: n - 1, signal: 'SIGTERM' }
  }
  const k = KILL_KEYS.indexOf(key)
  if (k >= 0 && k < DEMO_NODES) return { kind: 'toggle', node: k, signal: 'SIGKILL' }
  return null
}

export function uiAddress(node: Pick<DemoNode, 'api' | 'token'>): string | null {
  return node.api === null || node.token === null ? null : `${node.api}/#token=${node.token}`
}

/** What marks `dir` as made by `tally demo`: the marker, the first version's, or nothing. */
export function demoMark(dir: string): 'current' | 'legacy' | null {
  try {
    const mark = JSON.parse(readFileSync(join(dir, MARK), 'utf8')) as unknown
    if (
      typeof mark === 'object' &&
      mark !== null &&
      (mark as { madeBy?: unknown }).madeBy === MARK_MADE_BY &&
      (mark as { version?: unknown }).version === MARK_VERSION
    ) {
      return 'current'
    }
  } catch {
    // No marker, or not ours: try the first version's.
  }
  try {
    if (!LEGACY_CONTENT.test(readFileSync(join(dir, LEGACY_MARK), 'utf8'))) return null
    for (let i = 0; i < DEMO_NODES; i++) {
      const nodeDir = join(dir, `node${i}`)
      if (!/^[0-9a-f]{64}\n$/.test(readFileSync(join(nodeDir, TOKEN_FILE), 'utf8'))) return null
      if (!existsSync(join(nodeDir, DB_FILE))) return null
    }
    return 'legacy'
  } catch {
    return null
  }
}

function writeMark(dir: string, basePort: number): void {
  const mark = { madeBy: MARK_MADE_BY, version: MARK_VERSION, nodes: DEMO_NODES, basePort }
  writeFileSync(join(dir, MARK), `${JSON.stringify(mark)}\n`)
}

/**
 * Makes the demo's data folder unless it is there (or `fresh` asks for a new one). Returns
 * whether it made it. Refuses, deleting nothing, a non-empty folder without the demo's marker.
 * `fresh` deletes only what the demo made (node0..node2, which hold the token files, and the
 * marker), never the folder itself, so anything else a user put there stays.
 */
export function prepareDemoDir(dir: string, fresh: boolean, basePort: number): boolean {
  const mark = demoMark(dir)
  if (mark === 'legacy') {
    // Made by the first version: give it the marker, whose basePort is the one it was made with.
    const legacyPort = Number(LEGACY_CONTENT.exec(readFileSync(join(dir, LEGACY_MARK), 'utf8'))![1])
    writeMark(dir, legacyPort)
    rmSync(join(dir, LEGACY_MARK), { force: true })
  }
  if (mark !== null) {
    if (!fresh) {
      for (let i = 0; i < DEMO_NODES; i++) {
        if (!existsSync(join(dir, `node${i}`, DB_FILE))) {
          throw new UsageError(`${dir} has no ledger in node${i}; --fresh makes a new one`)
        }
      }
      return false
    }
    for (let i = 0; i < DEMO_NODES; i++) {
      rmSync(join(dir, `node${i}`), { recursive: true, force: true })
    }
    rmSync(join(dir, MARK), { force: true })
  } else if (existsSync(dir)) {
    let entries: string[]
    try {
      entries = readdirSync(dir)
    } catch (error) {
      throw new UsageError(`${dir}: ${(error as Error).message}; give another --dir`)
    }
    if (entries.length > 0) {
      throw new UsageError(
        `${dir} is not empty and was not made by tally demo (it has no valid ${MARK}); ` +
          `nothing was deleted. Give another --dir, or remove the folder yourself`,
      )
    }
  }
  mkdirSync(dir, { recursive: true })
  // First, so that a folder left half made is still known as the demo's, and --fresh renews it.
  writeMark(dir, basePort)
  createTestnet({ nodes: DEMO_NODES, dir, basePort, faultModel: 'crash', name: 'demo' })
  for (let i = 0; i < DEMO_NODES; i++) {
    writeFileSync(join(dir, `node${i}`, TOKEN_FILE), `${randomBytes(32).toString('hex')}\n`, {
      mode: 0o600,
    })
  }
  return true
}

/**
 * Stops nodes of this folder that an earlier demo left running (one killed with SIGKILL cannot
 * stop its children): their api.json names the pid, and /proc tells whether that pid is still
 * a `tally node` of this folder rather than a process that reused the number. Only in a folder
 * with the demo's marker: elsewhere those nodes are not the demo's to stop.
 */
export function stopLeftovers(dir: string, say: (line: string) => void = () => {}): void {
  // In a folder the demo did not make, a `tally node` of <dir>/nodeN is someone else's node.
  if (demoMark(dir) === null) return
  for (let i = 0; i < DEMO_NODES; i++) {
    const nodeDir = join(dir, `node${i}`)
    let pid: number
    try {
      pid = (JSON.parse(readFileSync(join(nodeDir, API_FILE), 'utf8')) as { pid: number }).pid
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (!cmdline.includes('node') || !cmdline.includes(nodeDir)) continue
    } catch {
      continue
    }
    say(`node${i} was left running by an earlier demo (pid ${pid}); stopping it`)
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      continue // gone already
    }
    // Until it is gone, its ports are taken and a new node there would fail to start.
    const pause = new Int32Array(new SharedArrayBuffer(4))
    for (let n = 0; n < 100 && existsSync(`/proc/${pid}`); n++) Atomics.wait(pause, 0, 0, 20)
  }
}

export class Demo {
  readonly dir: string
  readonly nodes: DemoNode[]
  readonly #say: (line: string) => void
  readonly #procs: (ChildProcess | null)[]
  readonly #onSpawn: (child: ChildProcess) => void
  #closing = false

  /** `onSpawn` sees each node process it starts (a test registers them with its own killers). */
  constructor(
    dir: string,
    say: (line: string) => void,
    onSpawn: (child: ChildProcess) => void = () => {},
  ) {
    this.dir = dir
    this.#say = say
    this.#onSpawn = onSpawn
    this.nodes = Array.from({ length: DEMO_NODES }, (_, i) => ({
      index: i,
      name: `node${i}`,
      key: String(i + 1),
      dir: join(dir, `node${i}`),
      state: 'stopped' as DemoNodeState,
      pid: null,
      api: null,
      token: null,
      log: [],
    }))
    this.#procs = this.nodes.map(() => null)
  }

  /** Starts node i and resolves once it serves its API; rejects with its last words if it fails. */
  start(i: number): Promise<void> {
    const node = this.nodes[i]!
    if (node.state !== 'stopped') return Promise.resolve()
    node.state = 'starting'
    node.log.length = 0
    const child = spawn(
      process.execPath,
      [
        BIN,
        'node',
        '--data',
        node.dir,
        '--no-mdns',
        '--token-file',
        join(node.dir, TOKEN_FILE),
        // No node outlives the demo, even one SIGKILLed: the pipe on stdin ends with it.
        '--stop-on-stdin-eof',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    )
    this.#procs[i] = child
    this.#onSpawn(child)
    node.pid = child.pid ?? null
    createInterface({ input: child.stderr! }).on('line', (line) => {
      node.log.push(line)
      if (node.log.length > 20) node.log.shift()
    })
    return new Promise<void>((resolveStart, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`${node.name} did not start in ${READY_MS / 1000} s`))
      }, READY_MS)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let ready: { event?: string; api?: string; token?: string }
        try {
          ready = JSON.parse(line) as typeof ready
        } catch {
          return // not the ready line
        }
        if (ready.event !== 'ready' || node.state !== 'starting') return
        clearTimeout(timer)
        node.api = ready.api ?? null
        node.token = ready.token ?? null
        node.state = 'running'
        resolveStart()
      })
      child.on('exit', (code, signal) => {
        clearTimeout(timer)
        if (this.#procs[i] === child) this.#procs[i] = null
        const was = node.state
        node.state = 'stopped'
        node.pid = null
        const how = code !== null ? `code ${code}` : `${signal}`
        if (was === 'starting') {
          reject(new Error(`${node.name} exited (${how}) before it was ready:\n${lastWords(node)}`))
        } else if (was === 'running' && !this.#closing) {
          this.#say(`${node.name} exited (${how}); press ${node.key} to start it`)
          if (node.log.length > 0) this.#say(lastWords(node))
        }
      })
    })
  }

  /** Stops node i with `signal` and resolves once its process is gone. */
  async stop(i: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.#procs[i]
    const node = this.nodes[i]!
    if (child === null || child === undefined) return
    node.state = 'stopping'
    const gone = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_MS)
    await gone
    clearTimeout(timer)
  }

  /** The key for node i: stop it if it runs, start it if it is stopped, else say it is busy. */
  async toggle(i: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const node = this.nodes[i]!
    if (node.state === 'running') {
      this.#say(`${node.name}: ${signal === 'SIGKILL' ? 'killing (SIGKILL)' : 'stopping'}…`)
      await this.stop(i, signal)
      this.#say(`${node.name} stopped; press ${node.key} to start it again`)
    } else if (node.state === 'stopped') {
      this.#say(`${node.name}: starting…`)
      try {
        await this.start(i)
        this.#say(`${node.name} is running again at ${uiAddress(node)}`)
      } catch (error) {
        this.#say(`${node.name} could not start: ${(error as Error).message}`)
      }
    } else {
      this.#say(`${node.name} is ${node.state}; wait a moment`)
    }
  }

  /** One line per node: its state, and for a running one what its API says. */
  async report(): Promise<string[]> {
    return Promise.all(
      this.nodes.map(async (node) => {
        const head = `  [${node.key}] ${node.name}  ${node.state.padEnd(8)}`
        if (node.state !== 'running') return head.trimEnd()
        try {
          const s = await this.status(node.index)
          const quorum = s.hasQuorum ? 'has quorum' : 'NO QUORUM, nothing commits'
          return `${head}  height ${s.height}  ${s.online} of ${s.members} online, ${quorum}, ${s.pending} waiting`
        } catch (error) {
          return `${head}  (its API did not answer: ${(error as Error).message})`
        }
      }),
    )
  }

  async status(i: number): Promise<StatusView> {
    return (await this.call(i, 'GET', '/api/status')) as StatusView
  }

  async call(i: number, method: string, path: string, body?: unknown): Promise<unknown> {
    const node = this.nodes[i]!
    if (node.api === null || node.token === null) throw new Error(`${node.name} has no API yet`)
    // Short: a person waits on the answer, from a node that may just have been stopped.
    return callApi({ url: node.api, token: node.token }, method, path, body, {}, 3_000)
  }

  /** Stops every node (SIGTERM, SIGKILL after STOP_MS) and waits until all are gone. */
  async close(): Promise<void> {
    this.#closing = true
    await Promise.all(this.nodes.map((_, i) => this.stop(i, 'SIGTERM')))
  }

  /** SIGKILLs every node at once; synchronous, for an 'exit' handler. */
  killNow(): void {
    this.#closing = true
    for (const child of this.#procs) child?.kill('SIGKILL')
  }
}

function lastWords(node: DemoNode): string {
  return node.log
    .slice(-6)
    .map((l) => `    ${node.name}| ${l}`)
    .join('\n')
}

const KEYS_HELP =
  'Keys: 1 2 3 stop or start that node · ! @ # (Shift+1..3) kill it as a crash (SIGKILL) · s state · q quit'

export async function runDemo(o: Options): Promise<number> {
  const dir = resolve(typeof o.dir === 'string' ? o.dir : DEFAULT_DEMO_DIR)
  const basePort = integer(o, 'base-port', DEFAULT_DEMO_BASE_PORT, 1024, 65_000)
  const say = (line: string) => console.log(line)
  stopLeftovers(dir, say)
  const created = prepareDemoDir(dir, o.fresh === true, basePort)
  say(
    `${created ? 'Made' : 'Reusing'} the demo ledger in ${dir}${created ? '' : ' (--fresh for a new one)'}`,
  )

  const demo = new Demo(dir, say)
  const killNow = () => demo.killNow()
  // Whatever ends this process, the nodes go with it: an exception, process.exit, a signal.
  process.on('exit', killNow)
  let quit: (code: number) => void = () => {}
  const finished = new Promise<number>((r) => {
    quit = r
  })
  const onSignal = (signal: NodeJS.Signals) => {
    say(`\n${signal}: stopping the three nodes…`)
    quit(0)
  }
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal)
  const stdin = process.stdin
  const raw = stdin.isTTY === true
  try {
    say('Starting three nodes…')
    await Promise.all(demo.nodes.map((_, i) => demo.start(i)))
    await checkUi(demo, say)
    if (created) await seed(demo, say)
    say('')
    say(`Tally demo: three members of the ledger "demo" on this machine (data in ${dir}).`)
    say('Open each address in its own browser tab:')
    for (const node of demo.nodes) say(`  [${node.key}] ${node.name}  ui: ${uiAddress(node)}`)
    say('')
    if (raw) {
      say(KEYS_HELP)
      stdin.setRawMode(true)
      stdin.setEncoding('utf8')
      stdin.on('data', (chunk: string) => {
        for (const key of chunk) {
          const action = keyAction(key)
          if (action === null) continue
          if (action.kind === 'quit') quit(0)
          else if (action.kind === 'help') say(KEYS_HELP)
          else if (action.kind === 'state')
            void demo.report().then((lines) => say(lines.join('\n')))
          else void demo.toggle(action.node, action.signal)
        }
      })
      stdin.resume()
    } else {
      say(
        'Keys to stop and start nodes need a terminal (stdin is not one); Ctrl-C or SIGTERM stops all.',
      )
    }
    return await finished
  } catch (error) {
    say(`tally demo: ${(error as Error).message}`)
    return 1
  } finally {
    if (raw) {
      stdin.setRawMode(false)
      stdin.pause()
    }
    await demo.close()
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal)
    process.off('exit', killNow)
    say('The demo nodes are stopped.')
  }
}

/** The UI is served by each node only if it was built (`npm run build`); say so if not. */
async function checkUi(demo: Demo, say: (line: string) => void): Promise<void> {
  const api = demo.nodes[0]!.api
  if (api === null) return
  try {
    const res = await fetch(`${api}/`, { signal: AbortSignal.timeout(3_000) })
    const html = res.ok && (res.headers.get('content-type') ?? '').includes('text/html')
    await res.body?.cancel()
    if (html) return
    say(
      `The nodes do not serve the UI (GET / answered ${res.status}): run \`npm run build\` first.`,
    )
  } catch (error) {
    say(`The nodes' UI did not answer: ${(error as Error).message}`)
  }
}

async function seed(demo: Demo, say: (line: string) => void): Promise<void> {
  try {
    for (const t of SEED) await demo.call(0, 'POST', '/api/entries', t)
    say(`Submitted ${SEED.length} example entries on node0.`)
  } catch (error) {
    say(`Could not submit the example entries: ${(error as Error).message}`)
  }
}
