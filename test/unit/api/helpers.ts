/**
 * A real node and its API in this process: a SQLite file in a throwaway folder, libp2p on an
 * ephemeral 127.0.0.1 port with no peers, and the HTTP server on another. The ledger's other
 * members never run, so (with the default three members) nothing commits: every stored entry
 * stays pending, which is what the API tests count.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ApiOptions, type ApiServer, startApi } from '../../../core/api/server.ts'
import type { EventMessage } from '../../../core/api/types.ts'
import { generateKeypair } from '../../../core/ledger/crypto.ts'
import { encodeGenesis } from '../../../core/ledger/encoding.ts'
import type { Genesis } from '../../../core/ledger/types.ts'
import { DB_FILE, TallyNode } from '../../../core/node/index.ts'
import { Store } from '../../../core/store/store.ts'
import type { EventSink, LinkState } from '../../../renderer/src/api/transport.ts'

export const TOKEN = 'test-token'

export interface TestApi {
  readonly node: TallyNode
  readonly api: ApiServer
  /** The node's data folder. */
  readonly dir: string
  /** A request with the token (unless `token` says otherwise); the answer's status and JSON. */
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<{ status: number; body: T }>
  /** Entries this node has stored, newest first (at most 500). */
  stored(): Promise<readonly { id: string; amount: string; memo: string }[]>
  close(): Promise<void>
}

export interface TestApiOptions extends Partial<Omit<ApiOptions, 'token'>> {
  /** Members besides this node (2: it cannot reach a quorum alone). */
  readonly others?: number
  /** Leave this node out of the ledger's members. */
  readonly notMember?: boolean
  /** Start on this data folder, left by an earlier test node with `keep` (a restart). */
  readonly dir?: string
  /** Leave the data folder behind on close, for a restart. */
  readonly keep?: boolean
  /** The genesis assets (none unless given). */
  readonly assets?: Genesis['assets']
}

export async function startTestApi(o: TestApiOptions = {}): Promise<TestApi> {
  if (o.dir !== undefined) return startOn(o.dir, o)
  const dir = mkdtempSync(join(tmpdir(), 'tally-api-'))
  const me = generateKeypair()
  const others = Array.from({ length: o.others ?? 2 }, () => generateKeypair().keypair.id)
  const genesis: Genesis = {
    name: 'api test',
    time: Date.now(),
    faultModel: 'crash',
    members: [...(o.notMember ? [] : [me.keypair.id]), ...others].map((id, i) => ({
      id,
      name: `m${i}`,
    })),
    assets: o.assets ?? [],
  }
  const store = Store.open(join(dir, DB_FILE))
  try {
    store.transaction(() => {
      store.setMeta('node-seed', me.seed)
      store.setMeta('genesis', encodeGenesis(genesis))
      store.setSetting('name', 'api-test')
      store.setSetting('listen', ['/ip4/127.0.0.1/tcp/0'])
      store.setSetting('peers', [])
      store.setSetting('mdns', false)
    })
  } finally {
    store.close()
  }
  return startOn(dir, o)
}

async function startOn(dir: string, o: TestApiOptions): Promise<TestApi> {
  const remove = () => {
    if (o.keep !== true) rmSync(dir, { recursive: true, force: true })
  }
  let node: TallyNode
  let api: ApiServer
  try {
    node = await TallyNode.start({ dataDir: dir })
  } catch (error) {
    remove()
    throw error
  }
  try {
    api = await startApi(node, {
      port: 0,
      token: TOKEN,
      ...(o.testHooks === undefined ? {} : { testHooks: o.testHooks }),
      ...(o.maxPending === undefined ? {} : { maxPending: o.maxPending }),
    })
  } catch (error) {
    await node.stop()
    remove()
    throw error
  }
  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    token: string | null = TOKEN,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
    return { status: res.status, body: (await res.json()) as T }
  }
  return {
    node,
    api,
    dir,
    call,
    stored: async () => {
      const r = await call<{ entries: { id: string; amount: string; memo: string }[] }>(
        'GET',
        '/api/entries?limit=500',
      )
      if (r.status !== 200) throw new Error(`GET /api/entries: ${r.status}`)
      return r.body.entries
    },
    close: async () => {
      await api.close()
      await node.stop()
      remove()
    },
  }
}

export function transfer(n: number, memo = `t${n}`) {
  return { from: '@bank', to: `acct${n % 7}`, asset: 'EUR', amount: n + 1, memo }
}

/**
 * POSTs every body on its own connection so that they reach the server in one event-loop turn:
 * each request is sent whole but for its last byte, and once the server holds them all the last
 * bytes go out together. Resolves to the answers' status codes, in order.
 */
export async function postTogether(
  api: ApiServer,
  path: string,
  bodies: readonly unknown[],
  headers: Readonly<Record<string, string>> = {},
): Promise<number[]> {
  const { port } = new URL(api.url)
  const requests = bodies.map((b) => {
    const body = Buffer.from(JSON.stringify(b))
    const head = Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${api.token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n` +
        Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('') +
        '\r\n',
    )
    return Buffer.concat([head, body])
  })
  const sockets = await Promise.all(
    requests.map(
      (r) =>
        new Promise<{ socket: Socket; answer: Promise<string> }>((resolve, reject) => {
          const socket = connect(Number(port), '127.0.0.1', () => {
            socket.write(r.subarray(0, r.length - 1))
            resolve({ socket, answer })
          })
          const answer = new Promise<string>((done, fail) => {
            let text = ''
            socket.on('data', (d) => {
              text += String(d)
            })
            socket.on('end', () => done(text))
            socket.on('error', fail)
          })
          socket.once('error', reject)
        }),
    ),
  )
  await new Promise((r) => setTimeout(r, 300))
  sockets.forEach(({ socket }, i) => {
    socket.end(requests[i]!.subarray(requests[i]!.length - 1))
  })
  const answers = await Promise.all(sockets.map((s) => s.answer))
  return answers.map((a) => Number(/^HTTP\/1\.1 (\d{3})/.exec(a)?.[1] ?? 0))
}

/**
 * Resolves once `check` holds, polling; fails naming `what` after `ms`, with what `more` says
 * (a child process's stderr, say).
 */
export async function until(
  what: string,
  check: () => boolean,
  ms = 10_000,
  more = () => '',
): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) {
      const said = more()
      throw new Error(`timed out waiting for ${what}${said === '' ? '' : `\n${said}`}`)
    }
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** An event sink that keeps what it is told. */
export function recorder(): EventSink & { messages: EventMessage[]; links: LinkState[] } {
  const messages: EventMessage[] = []
  const links: LinkState[] = []
  return { messages, links, message: (m) => messages.push(m), link: (l) => links.push(l) }
}
