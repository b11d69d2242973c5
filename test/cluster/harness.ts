/**
 * Real `tally node` processes on loopback, made by `tally testnet`, for tests and the benchmark.
 * Each node is its own OS process, so SIGKILL is a real crash: sockets close, unsynced writes are
 * whatever the kernel has, and the restart reads its SQLite file like a machine after a power cut.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type {
  BlockView,
  EntryView,
  PeerView,
  RoundsView,
  StatusView,
  SubmitResponse,
  TransferRequest,
} from '../../core/api/types.ts'
import { DB_FILE } from '../../core/node/node.ts'
import { createTestnet, type TestnetNode } from '../../core/node/testnet.ts'
import { Store } from '../../core/store/store.ts'

export const BIN = resolve(import.meta.dirname, '../../bin/tally.js')

/** Every node process any Cluster here started that has not exited yet. */
const live = new Set<ChildProcess>()

/**
 * SIGKILLs every node process still running. Synchronous, so that it can run in an 'exit'
 * handler; this module installs one, so a test or bench that dies (an exception, an unhandled
 * rejection, process.exit) leaves no `tally node` behind. Signals end a process without 'exit':
 * see `stopNodesOnSignals`.
 */
export function killAllNodes(): void {
  for (const child of live) child.kill('SIGKILL')
}
process.on('exit', killAllNodes)

/**
 * Adds a node process started elsewhere (by a `Demo`, say) to those `killAllNodes` and
 * `stopNodesOnSignals` kill, until it exits.
 */
export function trackNode(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
}

/**
 * On SIGINT or SIGTERM, kills the nodes and exits as the signal would have (status 128 + its
 * number). For long runs such as the bench, which are stopped by Ctrl-C or a kill.
 */
export function stopNodesOnSignals(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      killAllNodes()
      process.exit(code)
    })
  }
}

/** The line `tally node` prints on stdout once it serves its API. */
export interface Ready {
  readonly pid: number
  readonly nodeId: string
  readonly addrs: readonly string[]
  readonly api: string
  readonly token: string
  /** Null while the machine has no ledger (an empty data folder). */
  readonly ledger: string | null
}

export class ApiError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

export interface ClusterOptions {
  readonly nodes: number
  readonly faultModel?: 'crash' | 'byzantine'
  readonly settings?: Record<string, unknown>
  /** Print the nodes' stderr (for debugging a failing run). */
  readonly verbose?: boolean
  /** Flags for node itself before the script, such as `--cpu-prof` when profiling. */
  readonly nodeFlags?: readonly string[]
  /** Sees every line a node writes to stderr (the log keeps only the last ones). */
  readonly onLog?: (node: number, line: string) => void
  /** Added to the nodes' environment (NODE_DEBUG=tally-net, say). */
  readonly env?: Readonly<Record<string, string>>
}

export class Cluster {
  readonly dir: string
  readonly nodes: readonly TestnetNode[]
  readonly #procs: (ChildProcess | null)[]
  readonly #ready: (Ready | null)[]
  readonly #verbose: boolean
  readonly #nodeFlags: readonly string[]
  readonly #logs: string[][]
  readonly #onLog: ((node: number, line: string) => void) | undefined
  #env: Readonly<Record<string, string>> = {}

  private constructor(
    dir: string,
    nodes: TestnetNode[],
    verbose: boolean,
    nodeFlags: readonly string[],
    onLog: ((node: number, line: string) => void) | undefined,
  ) {
    this.dir = dir
    this.nodes = nodes
    this.#procs = nodes.map(() => null)
    this.#ready = nodes.map(() => null)
    this.#logs = nodes.map(() => [])
    this.#verbose = verbose
    this.#nodeFlags = nodeFlags
    this.#onLog = onLog
  }

  static create(o: ClusterOptions): Cluster {
    const dir = mkdtempSync(join(tmpdir(), 'tally-cluster-'))
    // A random block of ports, so parallel runs on one machine rarely collide.
    const basePort = 20_000 + Math.floor(Math.random() * 400) * 100
    const nodes = createTestnet({
      nodes: o.nodes,
      dir,
      basePort,
      faultModel: o.faultModel ?? 'crash',
      ...(o.settings === undefined ? {} : { settings: o.settings }),
    })
    const cluster = new Cluster(dir, nodes, o.verbose ?? false, o.nodeFlags ?? [], o.onLog)
    cluster.#env = o.env ?? {}
    return cluster
  }

  /**
   * Machines with empty data folders (no key, no ledger) on loopback, as on a first run: each
   * folder holds only its settings (a name, loopback with any free port, no mDNS). `nodes[i].id`
   * is empty until the node has started and made its key: read it from `ready(i).nodeId`.
   */
  static blank(o: Omit<ClusterOptions, 'faultModel'>): Cluster {
    const dir = mkdtempSync(join(tmpdir(), 'tally-blank-'))
    const nodes: TestnetNode[] = []
    for (let i = 0; i < o.nodes; i++) {
      const nodeDir = join(dir, `node${i}`)
      const store = Store.open(join(nodeDir, DB_FILE))
      try {
        const settings: Record<string, unknown> = {
          name: `desk${i}`,
          listen: ['/ip4/127.0.0.1/tcp/0'],
          mdns: false,
          ...o.settings,
        }
        for (const [k, v] of Object.entries(settings)) store.setSetting(k, v)
      } finally {
        store.close()
      }
      nodes.push({ dir: nodeDir, id: '', peerAddr: '', apiPort: 0 })
    }
    const cluster = new Cluster(dir, nodes, o.verbose ?? false, o.nodeFlags ?? [], o.onLog)
    cluster.#env = o.env ?? {}
    return cluster
  }

  get size(): number {
    return this.nodes.length
  }

  running(i: number): boolean {
    return this.#procs[i] !== null
  }

  ready(i: number): Ready {
    const r = this.#ready[i]
    if (r === null || r === undefined) throw new Error(`node${i} is not running`)
    return r
  }

  /** The last lines node i wrote to stderr, for failure messages. */
  log(i: number): string {
    return this.#logs[i]!.slice(-30).join('\n')
  }

  async start(i: number, extraArgs: readonly string[] = []): Promise<Ready> {
    if (this.#procs[i] !== null) throw new Error(`node${i} runs already`)
    const child = spawn(
      process.execPath,
      [
        ...this.#nodeFlags,
        BIN,
        'node',
        '--data',
        this.nodes[i]!.dir,
        '--test-hooks',
        // The pipe on stdin ends when this process does, even by SIGKILL, which `killAllNodes`
        // cannot see: the node then stops by itself.
        '--stop-on-stdin-eof',
        ...extraArgs,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...this.#env } },
    )
    this.#procs[i] = child
    live.add(child)
    const logs = this.#logs[i]!
    createInterface({ input: child.stderr! }).on('line', (line) => {
      logs.push(line)
      if (logs.length > 500) logs.shift()
      this.#onLog?.(i, line)
      if (this.#verbose) console.error(`[node${i}] ${line}`)
    })
    child.on('exit', () => {
      live.delete(child)
      if (this.#procs[i] === child) {
        this.#procs[i] = null
        this.#ready[i] = null
      }
    })
    const ready = await new Promise<Ready>((resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node${i} not ready in 30 s:\n${this.log(i)}`)),
        30_000,
      )
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`node${i} exited with ${code} before it was ready:\n${this.log(i)}`))
      })
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          const v = JSON.parse(line) as Ready & { event?: string }
          if (v.event === 'ready') {
            clearTimeout(timer)
            resolveReady(v)
          }
        } catch {
          // Not the ready line.
        }
      })
    })
    this.#ready[i] = ready
    return ready
  }

  async startAll(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.start(i)))
  }

  /** Kills node i with a signal and waits until the process is gone. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#procs[i]
    if (child === null || child === undefined) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill(signal)
    await exited
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.kill(i, 'SIGTERM')))
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.kill(i, 'SIGKILL')))
    rmSync(this.dir, { recursive: true, force: true })
  }

  async call<T>(i: number, method: string, path: string, body?: unknown): Promise<T> {
    const r = this.ready(i)
    const res = await fetch(`${r.api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${r.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const answer = (await res.json()) as T & { error?: string }
    if (!res.ok) throw new ApiError(res.status, answer.error ?? `HTTP ${res.status}`)
    return answer
  }

  submit(i: number, t: TransferRequest): Promise<SubmitResponse> {
    return this.call(i, 'POST', '/api/entries', t)
  }

  status(i: number): Promise<StatusView> {
    return this.call(i, 'GET', '/api/status')
  }

  entry(i: number, id: string): Promise<EntryView> {
    return this.call(i, 'GET', `/api/entries/${id}`)
  }

  block(i: number, height: number): Promise<BlockView> {
    return this.call(i, 'GET', `/api/blocks/${height}`)
  }

  peers(i: number): Promise<{ peers: PeerView[] }> {
    return this.call(i, 'GET', '/api/peers')
  }

  rounds(i: number): Promise<RoundsView> {
    return this.call(i, 'GET', '/api/rounds')
  }

  isolate(i: number, peers: readonly string[]): Promise<unknown> {
    return this.call(i, 'POST', '/api/test/isolate', { peers })
  }
}

/** A process's resident memory now and at its peak, in MiB, from /proc/<pid>/status (Linux). */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const mib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)
    if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`)
    return Number(m[1]) / 1024
  }
  return { rssMiB: mib('VmRSS'), peakMiB: mib('VmHWM') }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown = null
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      )
    }
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
