/**
 * `npm run bench:paging`: how fast the interface's ledger screen pages at 100,000 entries. One
 * real `tally node` (made by `tally testnet --nodes 1`, started as `tally node`, on 127.0.0.1)
 * is filled with 100,000 transfers through `POST /api/entries/batch`, then every kind of
 * `GET /api/entries` the screen sends is timed from outside, as the interface sends it: the first
 * page, deep pages, each filter alone, ten pages Older in a row, and `GET /api/balances`.
 * Prints a table, a JSON line, then one summary line:
 * `paging: <median first page ms> ms first page, <worst median> ms worst filter at 100000 entries`.
 *
 * `--keep` leaves the data folder (node stopped) for `EXPLAIN QUERY PLAN` with `sqlite3`.
 * The client shares the machine's cores with the node: every figure is one of the whole box.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { BatchResponse, EntryPage, StatusView, TransferRequest } from '../core/api/types.ts'
import { DB_FILE } from '../core/node/node.ts'
import { until } from '../test/cluster/harness.ts'
import { Prng } from '../test/sim/prng.ts'

const BIN = resolve(import.meta.dirname, '../bin/tally.js')
const KEEP = process.argv.includes('--keep')

const TOTAL = 100_000
const BATCH = 1_000
/** Batches in flight while filling: enough to keep the node busy, far from the mempool bound. */
const IN_FLIGHT = 4
/** A batch waits while more entries than this wait for a block (the node refuses at 50,000). */
const PENDING_HIGH = 20_000
/** Timed requests per figure, after WARMUP untimed ones. */
const SAMPLES = 20
const WARMUP = 2
const OLDER_PAGES = 10
const SEED = 20_240_601

// The data. Accounts are picked with Zipf weights (acct00 in about one entry in five, acct48 in
// about one in 200), plus `auditor` in one entry in 5,000 (20 in all); assets 80/19/1 %;
// memos are two words of WORDS (Zipf: `invoice` is in about half of them), a number, and in one
// memo in 2,000 the rare word `zeppelin`. No word is a substring of an account, an asset or a
// hex id, so a `q` matches memos only. A quarter of the entries fund an account from `@bank`;
// one in twenty asks for far more than any account holds, and is rejected.
const ACCOUNTS = Array.from({ length: 49 }, (_, i) => `acct${String(i).padStart(2, '0')}`)
const RARE_ACCOUNT = 'auditor'
const RARE_ACCOUNT_EVERY = 5_000
const ASSETS: readonly (readonly [string, number])[] = [
  ['EUR', 0.8],
  ['USD', 0.19],
  ['CHF', 0.01],
]
const WORDS = [
  'invoice',
  'lunch',
  'rent',
  'coffee',
  'taxi',
  'supplies',
  'salary',
  'refund',
  'travel',
  'hotel',
  'books',
  'software',
  'training',
  'postage',
  'cleaning',
  'repairs',
  'insurance',
  'phone',
  'internet',
  'parking',
]
const COMMON_WORD = 'invoice'
const RARE_WORD = 'zeppelin'
const RARE_WORD_EVERY = 2_000
/** In no memo, account, asset or id: a search for it reads every entry. */
const ABSENT_WORD = 'quokka'
const FUNDING_SHARE = 0.25
const OVERDRAFT_SHARE = 0.05

function zipf(n: number): number[] {
  const w = Array.from({ length: n }, (_, i) => 1 / (i + 1))
  const sum = w.reduce((a, b) => a + b, 0)
  let acc = 0
  return w.map((x) => {
    acc += x / sum
    return acc
  })
}

function pickCumulative<T>(rng: Prng, items: readonly T[], cumulative: readonly number[]): T {
  const r = rng.next()
  const i = cumulative.findIndex((c) => r < c)
  return items[i === -1 ? items.length - 1 : i]!
}

/** Counts of what was submitted, to show how many entries each filter matches. */
interface Mix {
  readonly byAccount: Map<string, number>
  readonly byAsset: Map<string, number>
  readonly byWord: Map<string, number>
  overdrafts: number
}

function makeEntries(): { entries: TransferRequest[]; mix: Mix } {
  const rng = new Prng(SEED)
  const accountCdf = zipf(ACCOUNTS.length)
  const wordCdf = zipf(WORDS.length)
  let assetSum = 0
  const assetCdf = ASSETS.map(([, p]) => {
    assetSum += p
    return assetSum
  })
  const assets = ASSETS.map(([a]) => a)
  const mix: Mix = { byAccount: new Map(), byAsset: new Map(), byWord: new Map(), overdrafts: 0 }
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1)
  const entries: TransferRequest[] = []
  for (let i = 0; i < TOTAL; i++) {
    const asset = pickCumulative(rng, assets, assetCdf)
    const words = [pickCumulative(rng, WORDS, wordCdf), pickCumulative(rng, WORDS, wordCdf)]
    if (i % RARE_WORD_EVERY === RARE_WORD_EVERY / 2) words.push(RARE_WORD)
    const memo = `${words.join(' ')} #${rng.int(1, 9_999)}`
    let from: string
    let to: string
    let amount: number
    const r = rng.next()
    if (i % RARE_ACCOUNT_EVERY === RARE_ACCOUNT_EVERY / 2) {
      from = '@bank'
      to = RARE_ACCOUNT
      amount = rng.int(100, 10_000)
    } else if (r < FUNDING_SHARE) {
      from = '@bank'
      to = pickCumulative(rng, ACCOUNTS, accountCdf)
      amount = rng.int(10_000, 1_000_000)
    } else {
      from = pickCumulative(rng, ACCOUNTS, accountCdf)
      do to = pickCumulative(rng, ACCOUNTS, accountCdf)
      while (to === from)
      const overdraft = r < FUNDING_SHARE + OVERDRAFT_SHARE
      if (overdraft) mix.overdrafts++
      amount = overdraft ? 1_000_000_000_000_000 : rng.int(1, 20_000)
    }
    bump(mix.byAccount, from)
    bump(mix.byAccount, to)
    bump(mix.byAsset, asset)
    for (const w of new Set(words)) bump(mix.byWord, w)
    entries.push({ from, to, asset, amount, memo })
  }
  return { entries, mix }
}

// The node.

let dir: string | null = null
let child: ChildProcess | null = null

/** Synchronous, for the 'exit' hook: whatever ends this process, the node goes with it. */
function cleanUp(): void {
  if (child !== null && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL')
  }
  child = null
  if (dir !== null && !KEEP) rmSync(dir, { recursive: true, force: true })
}
process.on('exit', cleanUp)
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  process.once(signal, () => {
    cleanUp()
    process.exit(code)
  })
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer()
    s.once('error', () => res(false))
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)))
  })
}

/** A base port P with P (peers) and P+100 (API) free on 127.0.0.1, as `tally testnet` uses them. */
async function freeBasePort(): Promise<number> {
  for (let n = 0; n < 50; n++) {
    const p = 20_000 + Math.floor(Math.random() * 40_000)
    if ((await portFree(p)) && (await portFree(p + 100))) return p
  }
  throw new Error('no free base port found on 127.0.0.1')
}

interface Api {
  readonly api: string
  readonly token: string
}

async function startNode(): Promise<Api> {
  dir = mkdtempSync(join(tmpdir(), 'tally-paging-'))
  const basePort = await freeBasePort()
  const made = spawnSync(
    process.execPath,
    [BIN, 'testnet', '--nodes', '1', '--dir', dir, '--base-port', String(basePort)],
    { encoding: 'utf8' },
  )
  if (made.status !== 0) throw new Error(`tally testnet failed: ${made.stderr}${made.stdout}`)
  // --stop-on-stdin-eof: the node goes with the bench however the bench ends.
  const proc = spawn(
    process.execPath,
    [BIN, 'node', '--data', join(dir, 'node0'), '--stop-on-stdin-eof'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  )
  child = proc
  const log: string[] = []
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    log.push(line)
    if (log.length > 30) log.shift()
  })
  return new Promise<Api>((res, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node not ready in 30 s:\n${log.join('\n')}`)),
      30_000,
    )
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`node exited with ${code} before it was ready:\n${log.join('\n')}`))
    })
    // The ready line carries what api.json holds (address and token); it also says when.
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const v = JSON.parse(line) as { event?: string; api: string; token: string }
        if (v.event !== 'ready') return
        clearTimeout(timer)
        res({ api: v.api, token: v.token })
      } catch {
        // not the ready line
      }
    })
  })
}

async function stopNode(): Promise<void> {
  const proc = child
  if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  proc.kill('SIGTERM')
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
  child = null
}

// HTTP, as bench/cluster.ts does it: one keep-alive agent, idle sockets closed before the node's.

const agent = new Agent({ keepAlive: true, maxSockets: 16, timeout: 30_000 })
const LOST = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT'])
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Answer {
  readonly status: number
  readonly text: string
  /** From sending the request to the last byte of the answer. */
  readonly ms: number
}

function send(
  api: Api,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((res, reject) => {
    const t0 = performance.now()
    const req = request(
      new URL(path, api.api),
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${api.token}`,
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          ...headers,
        },
      },
      (r) => {
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => chunks.push(c))
        r.on('end', () =>
          res({
            status: r.statusCode ?? 0,
            text: Buffer.concat(chunks).toString(),
            ms: performance.now() - t0,
          }),
        )
        r.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function get<T>(api: Api, path: string): Promise<{ value: T; ms: number; bytes: number }> {
  const a = await send(api, 'GET', path)
  if (a.status !== 200) throw new Error(`GET ${path}: HTTP ${a.status} ${a.text.slice(0, 200)}`)
  return { value: JSON.parse(a.text) as T, ms: a.ms, bytes: Buffer.byteLength(a.text) }
}

/**
 * One batch under one Idempotency-Key, sent again with the same key when the answer is lost,
 * the key is still being answered (409) or the mempool is full (503, which keeps no key).
 */
async function postBatch(api: Api, entries: readonly TransferRequest[]): Promise<BatchResponse> {
  const body = JSON.stringify({ entries })
  const key = randomUUID()
  for (let n = 0; ; n++) {
    let status = 0
    let text = ''
    try {
      ;({ status, text } = await send(api, 'POST', '/api/entries/batch', body, {
        'idempotency-key': key,
      }))
      if (status === 202) return JSON.parse(text) as BatchResponse
    } catch (error) {
      if (!LOST.has((error as NodeJS.ErrnoException).code ?? '')) throw error
    }
    if ((status !== 0 && status !== 409 && status !== 503) || n >= 10) {
      throw new Error(`batch: HTTP ${status} ${text.slice(0, 300)}`)
    }
    await sleep(Math.min(2_000, 100 * 2 ** n))
  }
}

// Figures.

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN
}
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const round1 = (x: number) => Math.round(x * 10) / 10
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')

interface Row {
  readonly key: string
  readonly label: string
  readonly query: string
  /** Entries on the answered page (for walks: on all its pages). */
  readonly rows: number
  /** Entries in the ledger the filter matches, as submitted (null: not a filter). */
  readonly matches: number | string | null
  readonly medianMs: number
  readonly p95Ms: number
  readonly bytes: number
  /** A single filter on the first page: counts for "worst filter". */
  readonly filter: boolean
}

async function timePage(
  api: Api,
  key: string,
  label: string,
  query: string,
  matches: Row['matches'],
  filter = false,
): Promise<Row> {
  const path = `/api/entries?${query}`
  let rows = 0
  let bytes = 0
  const ms: number[] = []
  for (let n = 0; n < WARMUP + SAMPLES; n++) {
    const r = await get<EntryPage>(api, path)
    rows = r.value.entries.length
    bytes = r.bytes
    if (n >= WARMUP) ms.push(r.ms)
  }
  return row(key, label, query, rows, matches, ms, bytes, filter)
}

/** The Older button OLDER_PAGES times: the first page, then each `next`, one after the other. */
async function timeWalk(api: Api, key: string, label: string, filter: string, matches: number) {
  const ms: number[] = []
  let rows = 0
  let bytes = 0
  for (let n = 0; n < WARMUP + SAMPLES; n++) {
    let before: number | null = null
    let total = 0
    rows = 0
    bytes = 0
    for (let k = 0; k < OLDER_PAGES; k++) {
      const cursor: string = before === null ? '' : `&before=${before}`
      const r: { value: EntryPage; ms: number; bytes: number } = await get<EntryPage>(
        api,
        `/api/entries?${filter}&limit=50${cursor}`,
      )
      total += r.ms
      rows += r.value.entries.length
      bytes += r.bytes
      before = r.value.next
      if (before === null) break
    }
    if (n >= WARMUP) ms.push(total)
  }
  return row(key, label, `${filter}, ${OLDER_PAGES} pages`, rows, matches, ms, bytes, false)
}

function row(
  key: string,
  label: string,
  query: string,
  rows: number,
  matches: Row['matches'],
  ms: readonly number[],
  bytes: number,
  filter: boolean,
): Row {
  const r = {
    key,
    label,
    query,
    rows,
    matches,
    medianMs: round1(median(ms)),
    p95Ms: round1(percentile(ms, 95)),
    bytes,
    filter,
  }
  console.error(`paging: ${label} (${query}): median ${r.medianMs} ms, p95 ${r.p95Ms} ms`)
  return r
}

// The run.

console.error(`paging: load average ${load()} at start`)
const { entries, mix } = makeEntries()
const api = await startNode()
console.error(`paging: node up at ${api.api}, data in ${dir}`)

// Fill: IN_FLIGHT workers, each sending the next batch of 1,000 until none is left.
const t0 = performance.now()
let nextBatch = 0
let stored = 0
const fill = async () => {
  while (nextBatch * BATCH < TOTAL) {
    const b = nextBatch++
    await until(
      'the mempool to drain',
      async () =>
        (await get<StatusView>(api, '/api/status')).value.pending <= PENDING_HIGH
          ? true
          : undefined,
      120_000,
      100,
    )
    const answer = await postBatch(api, entries.slice(b * BATCH, (b + 1) * BATCH))
    stored += answer.entries.length
    if ((b + 1) % 20 === 0) console.error(`paging: ${stored} entries stored`)
  }
}
await Promise.all(Array.from({ length: IN_FLIGHT }, fill))
const storedMs = performance.now() - t0
await until(
  'every entry committed or rejected',
  async () => ((await get<StatusView>(api, '/api/status')).value.pending === 0 ? true : undefined),
  600_000,
  50,
)
const fillMs = performance.now() - t0
const status = (await get<StatusView>(api, '/api/status')).value
console.error(
  `paging: ${TOTAL} entries stored in ${(storedMs / 1000).toFixed(1)} s, final in ${(fillMs / 1000).toFixed(1)} s ` +
    `(${Math.round((TOTAL / fillMs) * 1000)} entries/s), height ${status.height}; load average ${load()}`,
)

// Every entry, read back 500 at a time: the count, the statuses, and the oldest and newest seq.
const counts = new Map<string, number>()
let walked = 0
let cursor: number | null = null
let lastCursor = 0
let lastPage = 0
const walkStart = performance.now()
for (;;) {
  const q: string = cursor === null ? '' : `&before=${cursor}`
  const page: EntryPage = (await get<EntryPage>(api, `/api/entries?limit=500${q}`)).value
  for (const e of page.entries) counts.set(e.status, (counts.get(e.status) ?? 0) + 1)
  walked += page.entries.length
  if (page.next === null) {
    lastPage = page.entries.length
    break
  }
  lastCursor = page.next
  cursor = page.next
}
const walkMs = performance.now() - walkStart
const rejected = counts.get('rejected') ?? 0
const committed = counts.get('committed') ?? 0
if (walked !== TOTAL || committed + rejected !== TOTAL) {
  throw new Error(`read back ${walked} entries: ${JSON.stringify(Object.fromEntries(counts))}`)
}
const newest = (await get<EntryPage>(api, '/api/entries?limit=1')).value.next!
const oldest = lastCursor - lastPage
if (newest - oldest + 1 !== TOTAL) {
  throw new Error(`seq runs from ${oldest} to ${newest}, not over ${TOTAL} entries`)
}
console.error(
  `paging: read back ${walked} entries in ${(walkMs / 1000).toFixed(1)} s (500 a page): ${committed} committed, ${rejected} rejected`,
)

const deepBefore = newest - 50_000 + 1
const lastBefore = oldest + 50
const commonAccount = ACCOUNTS[0]!
const rows: Row[] = [
  await timePage(api, 'first50', 'first page', 'limit=50', null),
  await timePage(api, 'first100', 'first page', 'limit=100', null),
  await timePage(api, 'deep', 'deep page, 50,000 back', `limit=50&before=${deepBefore}`, null),
  await timePage(api, 'last', 'last page', `limit=50&before=${lastBefore}`, null),
  await timePage(
    api,
    'accountCommon',
    'account, common',
    `account=${commonAccount}&limit=50`,
    mix.byAccount.get(commonAccount)!,
    true,
  ),
  await timePage(
    api,
    'accountRare',
    'account, rare',
    `account=${RARE_ACCOUNT}&limit=50`,
    mix.byAccount.get(RARE_ACCOUNT)!,
    true,
  ),
  await timePage(
    api,
    'assetCommon',
    'asset, common',
    'asset=EUR&limit=50',
    mix.byAsset.get('EUR')!,
    true,
  ),
  await timePage(
    api,
    'assetRare',
    'asset, rare',
    'asset=CHF&limit=50',
    mix.byAsset.get('CHF')!,
    true,
  ),
  await timePage(api, 'rejected', 'status rejected', 'status=rejected&limit=50', rejected, true),
  await timePage(
    api,
    'qCommon',
    'q, common word',
    `q=${COMMON_WORD}&limit=50`,
    mix.byWord.get(COMMON_WORD)!,
    true,
  ),
  await timePage(
    api,
    'qRare',
    'q, rare word',
    `q=${RARE_WORD}&limit=50`,
    mix.byWord.get(RARE_WORD)!,
    true,
  ),
  await timePage(api, 'qNone', 'q, no match (reads all)', `q=${ABSENT_WORD}&limit=50`, 0, true),
  await timeWalk(
    api,
    'olderAccount',
    'Older x10, account',
    `account=${commonAccount}`,
    mix.byAccount.get(commonAccount)!,
  ),
  await timeWalk(api, 'olderQ', 'Older x10, q', `q=${COMMON_WORD}`, mix.byWord.get(COMMON_WORD)!),
]
{
  const ms: number[] = []
  let bytes = 0
  let n = 0
  for (let k = 0; k < WARMUP + SAMPLES; k++) {
    const r = await get<{ balances: unknown[] }>(api, '/api/balances')
    bytes = r.bytes
    n = r.value.balances.length
    if (k >= WARMUP) ms.push(r.ms)
  }
  rows.push(row('balances', 'balances', 'GET /api/balances', n, null, ms, bytes, false))
}
const loadEnd = load()

await stopNode()
if (KEEP) console.error(`paging: data kept in ${join(dir!, 'node0', DB_FILE)}`)

console.log(
  `${TOTAL} entries (${committed} committed, ${rejected} rejected), filled at ` +
    `${Math.round((TOTAL / fillMs) * 1000)} entries/s (stored at ${Math.round((TOTAL / storedMs) * 1000)}/s); ` +
    `${SAMPLES} requests a figure; load average at the end ${loadEnd}`,
)
const cols = [
  ['figure', 26],
  ['query', 36],
  ['rows', 6],
  ['matches', 8],
  ['median ms', 10],
  ['p95 ms', 8],
  ['bytes', 9],
] as const
const line = (cells: readonly string[]) =>
  cells.map((c, i) => (i < 2 ? c.padEnd(cols[i]![1]) : c.padStart(cols[i]![1]))).join(' ')
console.log(line(cols.map(([c]) => c)))
for (const r of rows) {
  console.log(
    line([
      r.label,
      r.query,
      String(r.rows),
      r.matches === null ? '' : String(r.matches),
      r.medianMs.toFixed(1),
      r.p95Ms.toFixed(1),
      String(r.bytes),
    ]),
  )
}
const first = rows.find((r) => r.key === 'first50')!
const worst = rows.filter((r) => r.filter).reduce((a, b) => (b.medianMs > a.medianMs ? b : a))
console.log(
  JSON.stringify({
    bench: 'paging',
    entries: TOTAL,
    rejected,
    fill_entries_per_s: Math.round((TOTAL / fillMs) * 1000),
    ...Object.fromEntries(
      rows.flatMap((r) => [
        [`${r.key}_ms`, r.medianMs],
        [`${r.key}_p95_ms`, r.p95Ms],
      ]),
    ),
    worst_filter: worst.key,
  }),
)
console.log(
  `paging: ${first.medianMs.toFixed(1)} ms first page, ${worst.medianMs.toFixed(1)} ms worst filter at ${TOTAL} entries`,
)
agent.destroy()
