/**
 * Steady submissions to whichever nodes are up, as the office's users would make them: single
 * transfers and batches, some that commit and some that overdraw and are rejected. Every entry a
 * node answered 202 for is kept: those are the promises the power-cut checks hold the ledger to.
 */
import type { BatchResponse, SubmitResponse, TransferRequest } from '../../core/api/types.ts'
import type { Cluster } from '../cluster/harness.ts'
import type { Prng } from '../sim/prng.ts'

export interface Acknowledged {
  readonly id: string
  /** The node that answered 202. */
  readonly node: number
}

export class Load {
  readonly acknowledged = new Map<string, Acknowledged>()
  /** Requests that failed or got no answer: the node was cut, or was restarting. */
  failed = 0
  readonly #cluster: Cluster
  readonly #prng: Prng
  #stopped = false
  #n = 0
  readonly #loops: Promise<void>[] = []

  constructor(cluster: Cluster, prng: Prng) {
    this.#cluster = cluster
    this.#prng = prng
  }

  /** `submitters` loops, each sending one request at a time with a short pause between. */
  start(submitters: number, pauseMs: number): void {
    for (let k = 0; k < submitters; k++) this.#loops.push(this.#loop(pauseMs))
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#loops)
  }

  /** Sends a batch to node i without waiting for the answer (the caller cuts the power meanwhile). */
  batchTo(i: number, size: number): Promise<void> {
    return this.#send(i, size)
  }

  async #loop(pauseMs: number): Promise<void> {
    while (!this.#stopped) {
      const up = this.#cluster.nodes.map((_, i) => i).filter((i) => this.#cluster.running(i))
      if (up.length > 0) {
        const i = this.#prng.pick(up)
        await this.#send(i, this.#prng.chance(0.2) ? this.#prng.int(2, 50) : 1)
      }
      await new Promise((r) => setTimeout(r, pauseMs))
    }
  }

  async #send(i: number, size: number): Promise<void> {
    let ready: ReturnType<Cluster['ready']>
    try {
      ready = this.#cluster.ready(i)
    } catch {
      return
    }
    const transfers = Array.from({ length: size }, () => this.#transfer())
    const single = size === 1
    try {
      const res = await fetch(`${ready.api}${single ? '/api/entries' : '/api/entries/batch'}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(single ? transfers[0] : { entries: transfers }),
        signal: AbortSignal.timeout(10_000),
      })
      if (res.status !== 202) {
        this.failed++
        await res.body?.cancel()
        return
      }
      const answer = (await res.json()) as SubmitResponse | BatchResponse
      const ids = 'entries' in answer ? answer.entries.map((e) => e.id) : [answer.id]
      for (const id of ids) this.acknowledged.set(id, { id, node: i })
    } catch {
      // Cut mid-request: nothing was promised.
      this.failed++
    }
  }

  #transfer(): TransferRequest {
    const n = ++this.#n
    // One in ten overdraws an ordinary account: committed as rejected, the same everywhere.
    if (this.#prng.chance(0.1)) {
      return { from: `acct${n % 7}`, to: 'acct-sink', asset: 'EUR', amount: 10_000_000 + n }
    }
    return {
      from: '@bank',
      to: `acct${n % 7}`,
      asset: 'EUR',
      amount: 1 + (n % 500),
      memo: `load ${n}`,
    }
  }
}
