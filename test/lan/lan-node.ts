/**
 * One office machine on a Lan: a real `tally node` process in a host's network namespace, with
 * its own host name, its data folder, and a way for the test to reach its API.
 *
 * The API listens on 127.0.0.1 of the machine's namespace, where the test process (in the root
 * namespace) cannot connect. An api-bridge.ts process in that namespace pipes a Unix socket
 * (a path, visible from every namespace) to the API's port, byte for byte; the test speaks plain
 * HTTP and WebSocket through it, with the bearer token, as a browser on that machine would. The
 * API's port is fixed per machine (every namespace has its own loopback, so one number serves
 * all), so the bridge outlives restarts of the node behind it.
 */
import type { ChildProcess } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import type { EventMessage } from '../../core/api/types.ts'
import { ApiError, until as pollUntil, type Ready } from '../cluster/harness.ts'

export { ApiError, type Ready }

import type { Lan, LanHost } from './netns.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const BIN = resolve(ROOT, 'bin/tally.js')
const BRIDGE = resolve(import.meta.dirname, 'api-bridge.ts')
/** The API's port inside each namespace. */
export const API_PORT = 7700
const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 15_000
const LOG_LINES = 200

export interface Answer<T> {
  readonly status: number
  readonly body: T
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** The cluster tests' `until`, with longer waits: machines in namespaces start slower. */
export function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  return pollUntil(what, check, timeoutMs, everyMs)
}

export class LanNode {
  readonly name: string
  readonly dir: string
  readonly socket: string
  readonly #lan: Lan
  readonly #logs: string[] = []
  #proc: ChildProcess | null = null
  #ready: Ready | null = null

  private constructor(
    lan: Lan,
    readonly host: LanHost,
    root: string,
  ) {
    this.#lan = lan
    this.name = `tally-n${host.index}`
    this.dir = join(root, `n${host.index}`)
    this.socket = join(root, `n${host.index}.sock`)
  }

  /** The machine with its API bridge running; the node itself is started by `start`. */
  static async create(lan: Lan, host: LanHost, root: string): Promise<LanNode> {
    const node = new LanNode(lan, host, root)
    const bridge = lan.spawn(
      host,
      process.execPath,
      ['--import', 'tsx', BRIDGE, node.socket, String(API_PORT)],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    )
    await firstLine(bridge, 'ready', READY_TIMEOUT_MS, `the API bridge of ${node.name}`)
    return node
  }

  get running(): boolean {
    return this.#proc !== null
  }

  get ready(): Ready {
    if (this.#ready === null) throw new Error(`${this.name} is not running`)
    return this.#ready
  }

  get id(): string {
    return this.ready.nodeId
  }

  /** The last lines the node wrote to stderr, for failure messages. */
  log(): string {
    return this.#logs.slice(-40).join('\n')
  }

  /**
   * Starts `tally node --data <dir>` in the machine's namespace, with the machine's host name
   * set there (a UTS namespace of its own: the node names itself after its host, as on a real
   * machine). No listen address and no peers: what it finds, it finds on the LAN.
   */
  async start(extra: readonly string[] = []): Promise<Ready> {
    if (this.#proc !== null) throw new Error(`${this.name} runs already`)
    const child = this.#lan.spawn(
      this.host,
      'unshare',
      [
        '--uts',
        'sh',
        '-c',
        'hostname "$0" && exec "$@"',
        this.name,
        process.execPath,
        BIN,
        'node',
        '--data',
        this.dir,
        '--api-port',
        String(API_PORT),
        ...extra,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.#proc = child
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.#logs.push(line)
      if (this.#logs.length > LOG_LINES) this.#logs.shift()
    })
    child.once('exit', () => {
      if (this.#proc === child) {
        this.#proc = null
        this.#ready = null
      }
    })
    const line = await firstLine(
      child,
      (l) => l.startsWith('{') && (JSON.parse(l) as { event?: unknown }).event === 'ready',
      READY_TIMEOUT_MS,
      `${this.name}'s ready line`,
      () => this.log(),
    )
    this.#ready = JSON.parse(line) as Ready
    return this.#ready
  }

  /**
   * Stops the node as a service manager would (SIGTERM: it closes its database and connections)
   * and waits for its exit; SIGKILL if it has not gone in STOP_TIMEOUT_MS, and then it throws,
   * since a node that ignores SIGTERM is a bug of its own.
   */
  async stop(): Promise<void> {
    const child = this.#proc
    if (child === null) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const stuck = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), STOP_TIMEOUT_MS)
      }),
    ])
    clearTimeout(timer)
    if (!stuck) return
    child.kill('SIGKILL')
    await exited
    throw new Error(`${this.name} did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM`)
  }

  /** One API call through the bridge; any status comes back, none is thrown. */
  request<T>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
    const { token } = this.ready
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return new Promise((resolvePromise, reject) => {
      const req = httpRequest(
        {
          socketPath: this.socket,
          path,
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(payload === undefined
              ? {}
              : {
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(payload),
                }),
          },
          timeout: 10_000,
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            text += chunk
          })
          res.on('end', () => {
            try {
              resolvePromise({ status: res.statusCode ?? 0, body: JSON.parse(text) as T })
            } catch {
              reject(new Error(`${this.name} ${method} ${path}: not JSON: ${text.slice(0, 200)}`))
            }
          })
          res.on('error', reject)
        },
      )
      req.on('timeout', () => req.destroy(new Error(`${this.name} ${method} ${path}: timeout`)))
      req.on('error', reject)
      req.end(payload)
    })
  }

  /** An API call that must succeed (2xx); ApiError with the node's reason otherwise. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.request<T & { error?: string }>(method, path, body)
    if (answer.status < 200 || answer.status > 299) {
      throw new ApiError(
        answer.status,
        `${this.name} ${method} ${path}: ${answer.status} ${answer.body.error ?? ''}`,
      )
    }
    return answer.body
  }

  /** Opens the node's event stream (`/api/events`) through the bridge. */
  async events(): Promise<EventLog> {
    const ws = new WebSocket(`ws+unix://${this.socket}:/api/events`, {
      headers: { authorization: `Bearer ${this.ready.token}` },
    })
    const log = new EventLog(ws)
    await new Promise<void>((resolvePromise, reject) => {
      ws.once('open', () => resolvePromise())
      ws.once('error', reject)
    })
    return log
  }
}

/** Every message of one event stream, with when it arrived here (ms since the epoch). */
export class EventLog {
  readonly messages: { readonly at: number; readonly message: EventMessage }[] = []
  readonly #ws: WebSocket

  constructor(ws: WebSocket) {
    this.#ws = ws
    ws.on('message', (data) => {
      this.messages.push({ at: Date.now(), message: JSON.parse(String(data)) as EventMessage })
    })
    ws.on('error', () => {})
  }

  /** When each committed block's event arrived, by height. */
  blocks(): { readonly height: number; readonly at: number }[] {
    const out: { height: number; at: number }[] = []
    for (const { at, message } of this.messages) {
      if (message.type === 'block') out.push({ height: message.block.height, at })
    }
    return out
  }

  close(): void {
    this.#ws.terminate()
  }
}

/** Resolves with the first stdout line of `child` that `match` accepts. */
function firstLine(
  child: ChildProcess,
  match: string | ((line: string) => boolean),
  timeoutMs: number,
  what: string,
  log: () => string = () => '',
): Promise<string> {
  const accepts =
    typeof match === 'string'
      ? (l: string) => l === match
      : (l: string) => {
          try {
            return match(l)
          } catch {
            return false
          }
        }
  return new Promise((resolvePromise, reject) => {
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000)
    })
    const fail = (why: string) => {
      clearTimeout(timer)
      reject(new Error(`no ${what}: ${why}\n${log() || stderr}`))
    }
    const timer = setTimeout(() => fail(`not within ${timeoutMs} ms`), timeoutMs)
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal} first`))
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      if (!accepts(line)) return
      clearTimeout(timer)
      lines.removeAllListeners('line')
      resolvePromise(line)
    })
  })
}
