/**
 * Steady submissions to whichever nodes are up, as the office's users would make them: single
 * transfers and batches, some that commit and some that overdraw and are rejected. Every entry a
 * node answered 202 for is kept: those are the promises the power-cut checks hold the ledger to.
 * Every request carries an Idempotency-Key, and is retried with it as a user would when a cut
 * lost its answer; a node back from a cut must replay what it acknowledged before.
 */
import type { BatchResponse, SubmitResponse, TransferRequest } from '../../core/api/types.ts'
import type { Cluster, Ready } from '../cluster/harness.ts'
import type { Prng } from '../sim/prng.ts'

export interface Acknowledged {
  readonly id: string
  /** The node that answered 202. */
  readonly node: number
}

/** One request as sent, kept to send again with its Idempotency-Key. */
interface Request {
  readonly node: number
  readonly key: string
  readonly path: '/api/entries' | '/api/entries/batch'
  readonly body: string
  /** The entries its 202 named. */
  ids?: readonly string[]
}

type Outcome =
  | { readonly kind: 'answered'; readonly ids: readonly string[]; readonly replayed: boolean }
  /** No answer: the node was cut mid-request. Whether it stored anything is unknown. */
  | { readonly kind: 'lost' }
  /** Not sent: the node was down or starting. */
  | { readonly kind: 'unsent' }
  /** An answer other than 202. */
  | { readonly kind: 'refused'; readonly status: number; readonly text: string }

/** Acknowledged requests kept per node, asked again after its next cut. */
const RECENT = 20

export class Load {
  readonly acknowledged = new Map<string, Acknowledged>()
  /** Requests that failed or got no answer: the node was cut, or was restarting. */
  failed = 0
  /** Requests sent again with their key after a lost answer, and how many of those replayed. */
  retried = 0
  replayed = 0
  /** Acknowledged requests asked again after a cut of their node, all of which must replay. */
  askedAgain = 0
  /** Broken promises about keys, found as they happen. */
  readonly violations: string[] = []
  readonly #cluster: Cluster
  readonly #prng: Prng
  #stopped = false
  #n = 0
  #requests = 0
  readonly #loops: Promise<void>[] = []
  /** Lost answers, sent again with their key once their node is up: the user's retry. */
  #unanswered: Request[] = []
  readonly #recent = new Map<number, Request[]>()

  constructor(cluster: Cluster, prng: Prng) {
    this.#cluster = cluster
    this.#prng = prng
  }

  /** `submitters` loops, each sending one request at a time with a short pause between. */
  start(submitters: number, pauseMs: number): void {
    for (let k = 0; k < submitters; k++) this.#loops.push(this.#loop(pauseMs))
  }

  /** Stops the loops, then sends every request whose answer was lost once more. */
  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#loops)
    const left = this.#unanswered
    this.#unanswered = []
    for (const r of left) await this.#retry(r)
  }

  /** Sends a batch to node i without waiting for the answer (the caller cuts the power meanwhile). */
  batchTo(i: number, size: number): Promise<void> {
    return this.#send(i, size)
  }

  /**
   * Sends node i's last acknowledged requests again, with their keys, once it is back from a
   * power cut: each must get its first answer again and store nothing. A 202 is given only once
   * the entries and their key are on disk, so a cut cannot have taken either.
   */
  async askAgain(i: number): Promise<void> {
    // All at once: the run waits for them after every cut.
    const asked = await Promise.all(
      [...(this.#recent.get(i) ?? [])].map(async (r) => ({ r, o: await this.#post(r) })),
    )
    for (const { r, o } of asked) {
      if (o.kind === 'lost' || o.kind === 'unsent') continue // cut again meanwhile
      this.askedAgain++
      if (o.kind === 'refused') {
        this.violations.push(
          `key ${r.key}, acknowledged by node${i} before a power cut, answered ${o.status} when sent again: ${o.text}`,
        )
      } else if (!o.replayed || o.ids.join() !== r.ids?.join()) {
        this.violations.push(
          `key ${r.key}, acknowledged by node${i} before a power cut, was not replayed when sent again: it named ${o.ids.length} entries, ${o.ids.filter((id) => !r.ids?.includes(id)).length} of them new`,
        )
      }
    }
  }

  async #loop(pauseMs: number): Promise<void> {
    while (!this.#stopped) {
      // Retries share the loop with new requests, so that a node just back does not halt the load.
      const again = this.#unanswered.findIndex((r) => this.#ready(r.node) !== null)
      if (again >= 0 && this.#prng.chance(0.5)) {
        await this.#retry(this.#unanswered.splice(again, 1)[0]!)
      } else {
        const up = this.#cluster.nodes.map((_, i) => i).filter((i) => this.#ready(i) !== null)
        if (up.length > 0) {
          const i = this.#prng.pick(up)
          await this.#send(i, this.#prng.chance(0.2) ? this.#prng.int(2, 50) : 1)
        }
      }
      await new Promise((r) => setTimeout(r, pauseMs))
    }
  }

  async #send(i: number, size: number): Promise<void> {
    const transfers = Array.from({ length: size }, () => this.#transfer())
    const single = size === 1
    const request: Request = {
      node: i,
      key: `power-${++this.#requests}`,
      path: single ? '/api/entries' : '/api/entries/batch',
      body: JSON.stringify(single ? transfers[0] : { entries: transfers }),
    }
    const o = await this.#post(request)
    if (o.kind === 'answered') this.#acknowledge(request, o.ids)
    else this.failed++
    // Nothing is promised without an answer, but the entries may be stored: the retry tells.
    if (o.kind === 'lost') this.#unanswered.push(request)
  }

  /** The retry of a request whose answer was lost: one entry each, however often it is sent. */
  async #retry(r: Request): Promise<void> {
    const o = await this.#post(r)
    const later =
      o.kind === 'lost' ||
      o.kind === 'unsent' ||
      (o.kind === 'refused' && (o.status === 503 || o.status === 409))
    if (later) {
      if (!this.#stopped) this.#unanswered.push(r)
      return
    }
    this.retried++
    if (o.kind === 'refused') {
      this.violations.push(
        `key ${r.key} sent again to node${r.node} answered ${o.status}: ${o.text}`,
      )
      return
    }
    if (o.replayed) this.replayed++
    this.#acknowledge(r, o.ids)
  }

  #acknowledge(r: Request, ids: readonly string[]): void {
    r.ids = ids
    for (const id of ids) this.acknowledged.set(id, { id, node: r.node })
    const recent = this.#recent.get(r.node) ?? []
    recent.push(r)
    if (recent.length > RECENT) recent.shift()
    this.#recent.set(r.node, recent)
  }

  /** Node i's address and token, or null while it is down or starting. */
  #ready(i: number): Ready | null {
    try {
      return this.#cluster.ready(i)
    } catch {
      return null
    }
  }

  async #post(r: Request): Promise<Outcome> {
    const ready = this.#ready(r.node)
    if (ready === null) return { kind: 'unsent' }
    try {
      const res = await fetch(`${ready.api}${r.path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ready.token}`,
          'content-type': 'application/json',
          'idempotency-key': r.key,
        },
        body: r.body,
        signal: AbortSignal.timeout(10_000),
      })
      if (res.status !== 202) return { kind: 'refused', status: res.status, text: await res.text() }
      const answer = (await res.json()) as SubmitResponse | BatchResponse
      return {
        kind: 'answered',
        ids: 'entries' in answer ? answer.entries.map((e) => e.id) : [answer.id],
        replayed: res.headers.get('idempotent-replayed') === 'true',
      }
    } catch {
      // Cut mid-request: nothing was promised.
      return { kind: 'lost' }
    }
  }

  #transfer(): TransferRequest {
    const n = ++this.#n
    // One in ten overdraws an ordinary account: committed as rejected, the same everywhere. Each
    // memo is unique, so that an entry stored twice shows in the ledger (see onceEach).
    if (this.#prng.chance(0.1)) {
      return {
        from: `acct${n % 7}`,
        to: 'acct-sink',
        asset: 'EUR',
        amount: 10_000_000 + n,
        memo: `${MEMO_PREFIX}${n}`,
      }
    }
    return {
      from: '@bank',
      to: `acct${n % 7}`,
      asset: 'EUR',
      amount: 1 + (n % 500),
      memo: `${MEMO_PREFIX}${n}`,
    }
  }
}

/** Every transfer the load makes carries this and its own number as its memo. */
export const MEMO_PREFIX = 'load '
