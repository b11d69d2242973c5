/**
 * `npm run bench`: real `tally node` processes on loopback, measured from outside through the
 * HTTP API and the event stream, with 3 nodes and with 5. Prints a table, then one JSON line:
 * {"runs":[{"nodes":3,"entries_per_s":…,"latency_p50_ms":…,"latency_p99_ms":…,
 * "gap_proposer_ms":…,"gap_other_ms":…,"lost":0,"catchup_5000_ms":…},{"nodes":5,…}]}
 * and, beside `entries_per_s` (clients posting batches of 100 entries, spread over the nodes), an
 * `entries_per_s_single` measured the same way with one entry per request.
 * Every figure is a median over its repetitions. The client shares the machine's two cores with
 * the nodes, so these are figures of the whole box, not of a node alone.
 */
import { randomUUID } from 'node:crypto'
import { Agent, request } from 'node:http'
import WebSocket from 'ws'
import type { EventMessage, StatusView } from '../core/api/types.ts'
// Importing the harness also kills every node it started when this process exits, however.
import { Cluster, stopNodesOnSignals, until } from '../test/cluster/harness.ts'

interface Run {
  nodes: number
  /** Saturating load in batches (`POST /api/entries/batch`), the cluster's own limit. */
  entries_per_s: number
  /** Saturating load one entry per request: the HTTP cost of each entry, on both sides, counts. */
  entries_per_s_single: number
  latency_p50_ms: number
  latency_p99_ms: number
  gap_proposer_ms: number
  gap_other_ms: number
  lost: number
  catchup_5000_ms: number
}

const args = new Set(process.argv.slice(2))
const QUICK = args.has('--quick')
const SIZES = QUICK ? [3] : [3, 5]
const SATURATE_MS = 3_000
const SATURATE_RUNS = QUICK ? 1 : 3
const IN_FLIGHT = 64
/** Enough submissions in flight that the cluster, not the client, sets the pace. */
const SATURATING = 256
/** Batched saturation: this many requests in flight, each of BATCH entries. */
const SATURATING_BATCHES = 12
const BATCH = 100
const LATENCY_SAMPLES = QUICK ? 50 : 200
const KILLS = QUICK ? 1 : 3
const CATCHUP = 5_000

stopNodesOnSignals()

/**
 * Idle sockets are closed here after 30 s, before the node would close them (65 s): a socket
 * the server closes while the client reuses it fails with "socket hang up". Without a timeout
 * of its own, Node's agent keeps idle sockets for ever and ignores the server's Keep-Alive hint.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 256, timeout: 30_000 })
/** Attempts after the first for a request whose answer was lost; waits 50, 100, 200… ms. */
const RETRIES = 5
/** Requests sent again after a lost answer, for the log: there should be none but at kills. */
let retried = 0

/** Errors after which the request may or may not have been carried out: retried with its key. */
const LOST = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT'])

/**
 * POSTs with an Idempotency-Key, and sends the same request with the same key again when the
 * answer is lost (a reset connection) or the key is still being answered (409): the node answers
 * a retry with its first answer, so nothing is stored twice.
 */
async function post(
  api: string,
  token: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  const data = JSON.stringify(body)
  const key = randomUUID()
  for (let n = 0; ; n++) {
    try {
      const res = await postOnce(api, token, path, data, key)
      if (res.status !== 409 || n >= RETRIES) return res
    } catch (error) {
      if (!LOST.has((error as NodeJS.ErrnoException).code ?? '') || n >= RETRIES) throw error
    }
    retried++
    await sleep(50 * 2 ** n)
  }
}

function postOnce(
  api: string,
  token: string,
  path: string,
  data: string,
  key: string,
): Promise<{ status: number; json: unknown }> {
  const url = new URL(path, api)
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
          'idempotency-key': key,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString()),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(data)
  })
}

let counter = 0
function transfer() {
  counter++
  return {
    from: '@bank',
    to: `acct${counter % 97}`,
    asset: 'EUR',
    amount: 1 + (counter % 1000),
    memo: `bench ${counter}`,
  }
}

async function submit(c: Cluster, i: number): Promise<string> {
  const r = c.ready(i)
  const res = await post(r.api, r.token, '/api/entries', transfer())
  if (res.status !== 202) throw new Error(`submit: HTTP ${res.status} ${JSON.stringify(res.json)}`)
  return (res.json as { id: string }).id
}

async function submitBatch(c: Cluster, i: number): Promise<string[]> {
  const r = c.ready(i)
  const entries = Array.from({ length: BATCH }, transfer)
  const res = await post(r.api, r.token, '/api/entries/batch', { entries })
  if (res.status !== 202) throw new Error(`batch: HTTP ${res.status} ${JSON.stringify(res.json)}`)
  return (res.json as { entries: { id: string }[] }).entries.map((e) => e.id)
}

/** The event stream of node i: committed entry ids and block times, as they arrive. */
function watch(c: Cluster, i: number) {
  const r = c.ready(i)
  const ws = new WebSocket(`${r.api.replace('http', 'ws')}/api/events?token=${r.token}`)
  const committed = new Map<string, number>()
  const blocks: { t: number; height: number; entries: number }[] = []
  const waiters = new Map<string, () => void>()
  let onPropose: ((proposer: string) => void) | null = null
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as EventMessage
    const t = performance.now()
    if (m.type === 'round' && m.step === 'propose') onPropose?.(m.proposer)
    if (m.type === 'block') blocks.push({ t, height: m.block.height, entries: m.block.entries })
    if (m.type === 'entry' && (m.entry.status === 'committed' || m.entry.status === 'rejected')) {
      committed.set(m.entry.id, t)
      waiters.get(m.entry.id)?.()
      waiters.delete(m.entry.id)
    }
  })
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return {
    opened,
    committed,
    blocks,
    /** The first proposer, at the start of a round, that `pick` takes. */
    proposerWhen(pick: (proposer: string) => boolean): Promise<string> {
      return new Promise((resolve) => {
        onPropose = (p) => {
          if (!pick(p)) return
          onPropose = null
          resolve(p)
        }
      })
    },
    final(id: string): Promise<void> {
      if (committed.has(id)) return Promise.resolve()
      return new Promise((resolve) => waiters.set(id, resolve))
    },
    close: () => ws.close(),
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Committed entries a second while clients spread over every node keep it saturated. */
async function throughput(c: Cluster, batched: boolean): Promise<number> {
  const w = watch(c, 0)
  await w.opened
  const live = c.nodes.map((_, i) => i)
  const start = performance.now()
  const acked: string[] = []
  let stop = false
  const worker = async (k: number) => {
    const i = live[k % live.length]!
    while (!stop) {
      if (batched) acked.push(...(await submitBatch(c, i)))
      else acked.push(await submit(c, i))
    }
  }
  const workers = Promise.all(
    Array.from({ length: batched ? SATURATING_BATCHES : SATURATING }, (_, k) => worker(k)),
  )
  // A worker that fails ends the run at once, and its error is thrown here: left unwatched
  // during the sleep, it was an unhandled rejection that killed the bench, nodes and all.
  workers.catch(() => {
    stop = true
  })
  await Promise.race([sleep(SATURATE_MS), workers])
  stop = true
  await workers
  await until(
    'saturating load committed',
    async () => (acked.every((id) => w.committed.has(id)) ? true : undefined),
    120_000,
    200,
  )
  const last = Math.max(...acked.map((id) => w.committed.get(id)!))
  w.close()
  return (acked.length / (last - start)) * 1000
}

async function latency(c: Cluster): Promise<{ p50: number; p99: number }> {
  const w = watch(c, 0)
  await w.opened
  const samples: number[] = []
  for (let n = 0; n < LATENCY_SAMPLES; n++) {
    const t0 = performance.now()
    const id = await submit(c, 0)
    await w.final(id)
    samples.push(performance.now() - t0)
  }
  w.close()
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) }
}

/**
 * Kills one node under a steady 100 entries/s and measures, at a survivor, the longest time
 * without a commit from one second before the kill to two seconds after. Then restarts it.
 * Heights pass every few milliseconds, so the victim is picked from the survivor's event stream
 * at the start of a round: that round's proposer, or a node that is neither it nor the survivor.
 */
async function killGap(
  c: Cluster,
  which: 'proposer' | 'other',
  acked: Set<string>,
): Promise<number> {
  const ids = c.nodes.map((_, i) => c.ready(i).nodeId)
  const observer = 0
  const w = watch(c, observer)
  await w.opened
  let stop = false
  const load = (async () => {
    let k = 0
    while (!stop) {
      const live = c.nodes.map((_, i) => i).filter((i) => c.running(i))
      const i = live[k++ % live.length]!
      submit(c, i).then(
        (id) => acked.add(id),
        () => {},
      )
      await sleep(10)
    }
  })()
  await sleep(1_000)
  const proposer = await w.proposerWhen((p) => p !== ids[observer])
  const victim =
    which === 'proposer'
      ? ids.indexOf(proposer)
      : ids.findIndex((id, i) => id !== proposer && i !== observer)
  const killedAt = performance.now()
  await c.kill(victim)
  await sleep(2_000)
  stop = true
  await load
  const times = [
    killedAt - 1_000,
    ...w.blocks.map((b) => b.t).filter((t) => t >= killedAt - 1_000),
    performance.now(),
  ]
  let gap = 0
  for (let k = 1; k < times.length; k++) gap = Math.max(gap, times[k]! - times[k - 1]!)
  w.close()
  await c.start(victim)
  const target = (await c.status(observer)).height
  await until(
    'restarted node caught up',
    async () => ((await c.status(victim)).height >= target ? true : undefined),
    60_000,
  )
  return gap
}

async function catchup(c: Cluster): Promise<number> {
  const last = c.size - 1
  await c.kill(last, 'SIGTERM')
  const w = watch(c, 0)
  await w.opened
  const ids: string[] = []
  let next = 0
  const worker = async () => {
    while (next < CATCHUP) {
      next++
      ids.push(await submit(c, 0))
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  await until(
    '5,000 entries committed',
    async () => (ids.every((id) => w.committed.has(id)) ? true : undefined),
    120_000,
    200,
  )
  w.close()
  const target = (await c.status(0)).height
  await c.start(last)
  const t0 = performance.now()
  await until(
    'caught up',
    async () => ((await c.status(last)).height >= target ? true : undefined),
    120_000,
    10,
  )
  return performance.now() - t0
}

async function lost(c: Cluster, acked: Iterable<string>): Promise<number> {
  let missing = 0
  for (const id of acked) {
    const e = await c.entry(0, id).catch(() => null)
    if (e === null || (e.status !== 'committed' && e.status !== 'rejected')) missing++
  }
  return missing
}

async function runSize(nodes: number): Promise<Run> {
  const c = Cluster.create({ nodes })
  try {
    await c.startAll()
    await until('all connected', async () => {
      const s: StatusView = await c.status(0)
      return s.online === nodes ? true : undefined
    })
    console.error(`bench: ${nodes} nodes up`)
    const rates: number[] = []
    const singles: number[] = []
    for (let k = 0; k < SATURATE_RUNS; k++) {
      rates.push(await throughput(c, true))
      singles.push(await throughput(c, false))
    }
    const rate = median(rates)
    const single = median(singles)
    console.error(
      `bench: ${nodes} nodes, ${rate.toFixed(0)} entries/s in batches, ${single.toFixed(0)} one per request`,
    )
    const lat = await latency(c)
    console.error(
      `bench: ${nodes} nodes, latency p50 ${lat.p50.toFixed(1)} ms p99 ${lat.p99.toFixed(1)} ms`,
    )
    const acked = new Set<string>()
    const gapsProposer: number[] = []
    const gapsOther: number[] = []
    for (let k = 0; k < KILLS; k++) {
      gapsProposer.push(await killGap(c, 'proposer', acked))
      gapsOther.push(await killGap(c, 'other', acked))
    }
    console.error(
      `bench: ${nodes} nodes, gaps proposer ${gapsProposer.map((g) => g.toFixed(0))} other ${gapsOther.map((g) => g.toFixed(0))}`,
    )
    await until(
      'kill-test entries final',
      async () => ((await lost(c, acked)) === 0 ? true : undefined),
      30_000,
      500,
    ).catch(() => {})
    const lostCount = await lost(c, acked)
    const catchupMs = await catchup(c)
    console.error(`bench: ${nodes} nodes, catch-up ${catchupMs.toFixed(0)} ms`)
    console.error(`bench: ${nodes} nodes, ${retried} requests sent again after a lost answer`)
    retried = 0
    return {
      nodes,
      entries_per_s: Math.round(rate),
      entries_per_s_single: Math.round(single),
      latency_p50_ms: round1(lat.p50),
      latency_p99_ms: round1(lat.p99),
      gap_proposer_ms: Math.round(median(gapsProposer)),
      gap_other_ms: Math.round(median(gapsOther)),
      lost: lostCount,
      catchup_5000_ms: Math.round(catchupMs),
    }
  } finally {
    await c.destroy()
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10

const runs: Run[] = []
for (const n of SIZES) runs.push(await runSize(n))
const cols: [keyof Run, string][] = [
  ['entries_per_s', `entries/s committed (batches of ${BATCH})`],
  ['entries_per_s_single', 'entries/s committed (one per request)'],
  ['latency_p50_ms', 'submit→committed p50 (ms)'],
  ['latency_p99_ms', 'submit→committed p99 (ms)'],
  ['gap_proposer_ms', 'longest commit gap, proposer killed (ms)'],
  ['gap_other_ms', 'longest commit gap, other killed (ms)'],
  ['lost', 'entries lost'],
  ['catchup_5000_ms', 'catch-up of 5,000 entries (ms)'],
]
console.log(`${'figure'.padEnd(44)}${runs.map((r) => `${r.nodes} nodes`.padStart(10)).join('')}`)
for (const [k, label] of cols)
  console.log(`${label.padEnd(44)}${runs.map((r) => String(r[k]).padStart(10)).join('')}`)
console.log(JSON.stringify({ runs }))
agent.destroy()
