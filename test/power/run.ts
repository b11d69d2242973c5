/**
 * `npm run test:power`: three real `tally node` processes, each with its data folder on its own
 * LazyFS mount, under steady load, through a seeded schedule of power cuts: one node at a chosen
 * moment (right after it commits, in the middle of a batch of submissions, while it catches up,
 * at random), all three at once, and torn writes of the vote log. A power cut is SIGKILL and then
 * LazyFS dropping every write not yet synced. After each, the nodes restart by themselves and
 * must rejoin; at the end every promise is checked on the files (see checks.ts).
 *
 *   npm run test:power -- [--seed S] [--single N] [--all N] [--torn N] [--verbose]
 *
 * Ends with `power: C cuts, V violations`; exits 1 if V > 0. Skips, saying why, only where
 * /dev/fuse is missing.
 */
import { renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { StatusView } from '../../core/api/types.ts'
import { DB_FILE } from '../../core/node/node.ts'
import { Cluster } from '../cluster/harness.ts'
import { Prng } from '../sim/prng.ts'
import { checkLedgers } from './checks.ts'
import { LazyMount, lazyfsBinary, whyNoFuse } from './lazyfs.ts'
import { Load } from './load.ts'
import { Reported } from './reported.ts'

type Cut = 'after-commit' | 'mid-batch' | 'catching-up' | 'random' | 'all' | 'torn'

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    single: { type: 'string', default: '30' },
    all: { type: 'string', default: '5' },
    torn: { type: 'string', default: '3' },
    verbose: { type: 'boolean', default: false },
  },
})

const REJOIN_MS = 30_000
const SETTLE_MS = 60_000

class PowerRun {
  readonly violations: string[] = []
  /** Node power cuts: an all-node cut counts one per node. */
  cuts = 0
  readonly #kinds = { single: 0, all: 0, torn: 0 }
  readonly #prng: Prng
  readonly #cluster: Cluster
  readonly #mounts: LazyMount[] = []
  /** Each mount's config and fifos, outside the cluster folder (see LazyMount.workFolder). */
  readonly #work: string[] = []
  readonly #reported = new Reported()
  readonly #load: Load
  /** Nodes expected to stop themselves (their disk was torn away under them). */
  readonly #expectStop = new Set<number>()

  constructor(seed: number, verbose: boolean) {
    this.#prng = new Prng(seed)
    this.#cluster = Cluster.create({
      nodes: 3,
      onLog: (i, line) => this.#onLog(i, line),
      verbose,
    })
    this.#load = new Load(this.#cluster, this.#prng)
  }

  #onLog(i: number, line: string): void {
    if (line.includes('equivocated')) this.violations.push(`node${i} reports: ${line}`)
    else if (line.includes('the node stops') && !this.#expectStop.has(i)) {
      this.violations.push(`node${i} stopped: ${line}`)
    }
  }

  async setUp(bin: string): Promise<void> {
    for (const [i, node] of this.#cluster.nodes.entries()) {
      // The testnet's files become the mount's root; the node's data folder is the mount.
      const root = join(this.#cluster.dir, `root${i}`)
      renameSync(node.dir, root)
      const work = LazyMount.workFolder()
      this.#work.push(work)
      this.#mounts.push(await LazyMount.mount(bin, root, node.dir, work))
    }
    await Promise.all(this.#cluster.nodes.map((_, i) => this.#start(i)))
    await this.#until('the first block on every node', async () =>
      (await this.#statuses()).every((s) => s !== null && s.height >= 1),
    )
    this.#load.start(3, 30)
  }

  async #start(i: number): Promise<void> {
    const ready = await this.#cluster.start(i)
    this.#expectStop.delete(i)
    void this.#reported.watch(i, ready)
  }

  schedule(single: number, all: number, torn: number): Cut[] {
    const kinds: Cut[] = ['after-commit', 'mid-batch', 'catching-up', 'random']
    const cuts: Cut[] = []
    // catching-up cuts its node twice, so fewer of them make up the count.
    for (let n = 0; n < single; ) {
      const k = this.#prng.pick(kinds)
      cuts.push(k)
      n += k === 'catching-up' ? 2 : 1
    }
    for (let n = 0; n < all; n++) cuts.push('all')
    for (let n = 0; n < torn; n++) cuts.push('torn')
    return this.#prng.shuffle(cuts)
  }

  /** Carries one cut out and waits for the ledger to take the node(s) back; false if it did not. */
  async cut(kind: Cut): Promise<boolean> {
    const victim = this.#prng.int(0, this.#cluster.size - 1)
    const started = Date.now()
    const back = await this.#cut(kind, victim)
    if (kind === 'all') this.#kinds.all++
    else if (kind === 'torn') this.#kinds.torn++
    else this.#kinds.single += kind === 'catching-up' ? 2 : 1
    console.log(
      `power: ${kind}${kind === 'all' ? '' : ` of node${victim}`}: ${back ? 'back' : 'NOT back'} after ${Date.now() - started} ms`,
    )
    return back
  }

  async #cut(kind: Cut, victim: number): Promise<boolean> {
    switch (kind) {
      case 'after-commit':
        await this.#reported.nextBlock(victim, 10_000)
        await this.#powerCut([victim])
        break
      case 'mid-batch': {
        const pending = this.#load.batchTo(victim, this.#prng.int(50, 400))
        await sleep(this.#prng.int(0, 20))
        await this.#powerCut([victim])
        await pending
        break
      }
      case 'catching-up': {
        await this.#powerCut([victim])
        await sleep(this.#prng.int(1_000, 3_000)) // the others move on meanwhile
        if (!(await this.#restart([victim]))) return false
        await sleep(this.#prng.int(0, 300)) // cut again while it fetches what it missed
        await this.#powerCut([victim])
        break
      }
      case 'random':
        await sleep(this.#prng.int(0, 500))
        await this.#powerCut([victim])
        break
      case 'all':
        await sleep(this.#prng.int(0, 500))
        await this.#powerCut(this.#cluster.nodes.map((_, i) => i))
        break
      case 'torn':
        if (!(await this.#tornVoteWrite(victim))) return false
        break
    }
    const down = this.#cluster.nodes.map((_, i) => i).filter((i) => !this.#cluster.running(i))
    return this.#restart(down)
  }

  /** SIGKILL, then every write not yet synced is gone. */
  async #powerCut(nodes: readonly number[]): Promise<void> {
    await Promise.all(nodes.map((i) => this.#cluster.kill(i, 'SIGKILL')))
    for (const i of nodes) await this.#mounts[i]!.clearCache()
    this.cuts += nodes.length
  }

  /**
   * The power goes in the middle of a write of the vote log: part of it reaches the disk, the
   * rest and everything not synced does not. The record being written had not been synced, so
   * no vote depended on it: the node must come back with the record before it.
   */
  async #tornVoteWrite(i: number): Promise<boolean> {
    const mount = this.#mounts[i]!
    const slot = join(this.#cluster.nodes[i]!.dir, `votes.${this.#prng.int(0, 1)}`)
    const parts = this.#prng.int(2, 4)
    this.#expectStop.add(i)
    await mount.armTornWrite(slot, parts, [this.#prng.int(1, parts - 1)])
    const deadline = Date.now() + 20_000
    while (mount.alive && Date.now() < deadline) await sleep(20)
    if (mount.alive) {
      this.violations.push(`node${i} wrote no vote record to ${slot} in 20 s`)
      return false
    }
    await this.#cluster.kill(i, 'SIGKILL')
    await mount.remount()
    this.cuts++
    return true
  }

  async #restart(nodes: readonly number[]): Promise<boolean> {
    for (const i of nodes) {
      try {
        await this.#start(i)
      } catch (error) {
        this.violations.push(
          `node${i} did not restart after a power cut: ${(error as Error).message}`,
        )
        return false
      }
    }
    // Rejoined: every node reaches the height the highest stood at once all were up again.
    const target = Math.max(...(await this.#statuses()).map((s) => s?.height ?? 0)) + 1
    try {
      await this.#until(`every node at height ${target}`, async () =>
        (await this.#statuses()).every((s) => s !== null && s.height >= target),
      )
      // What each answered 202 before the cut, its key included, is still there.
      for (const i of nodes) await this.#load.askAgain(i)
      return true
    } catch (error) {
      this.violations.push(`${(error as Error).message}; ${await this.#describe()}`)
      return false
    }
  }

  /** Load stops; every acknowledged entry must then become final on every node. */
  async settle(): Promise<void> {
    await this.#load.stop()
    try {
      await this.#until(
        'every node to commit what it holds',
        async () => {
          const s = await this.#statuses()
          return s.every((x) => x !== null && x.pending === 0 && x.height === s[0]!.height)
        },
        SETTLE_MS,
      )
    } catch (error) {
      this.violations.push(`${(error as Error).message}; ${await this.#describe()}`)
    }
  }

  /** Stops the nodes cleanly and checks their files. */
  async check(): Promise<void> {
    this.#reported.close()
    await this.#cluster.stopAll()
    const files = this.#cluster.nodes.map((n) => join(n.dir, DB_FILE))
    this.violations.push(...this.#load.violations)
    this.violations.push(...checkLedgers(files, this.#reported, this.#load.acknowledged))
  }

  /** Load only, between two cuts. */
  pause(): Promise<void> {
    return sleep(this.#prng.int(300, 1_000))
  }

  summary(): string {
    const k = this.#kinds
    return `${k.single} single-node cuts, ${k.all} all-node cuts, ${k.torn} torn vote-log writes; ${this.#load.acknowledged.size} entries acknowledged, ${this.#reported.blocks.size} blocks reported, ${this.#load.failed} requests cut off; ${this.#load.retried} sent again with their key after a lost answer (${this.#load.replayed} of them replayed: stored before the cut), ${this.#load.askedAgain} acknowledged requests sent again after a cut`
  }

  async tearDown(): Promise<void> {
    this.#reported.close()
    await this.#load.stop()
    await Promise.all(this.#cluster.nodes.map((_, i) => this.#cluster.kill(i, 'SIGKILL')))
    for (const m of this.#mounts) await m.unmount()
    for (const w of this.#work) rmSync(w, { recursive: true, force: true })
    await this.#cluster.destroy()
  }

  async #statuses(): Promise<(StatusView | null)[]> {
    return Promise.all(
      this.#cluster.nodes.map((_, i) =>
        this.#cluster.running(i)
          ? this.#cluster.status(i).catch(() => null)
          : Promise.resolve(null),
      ),
    )
  }

  async #describe(): Promise<string> {
    const s = await this.#statuses()
    return s
      .map((x, i) =>
        x === null
          ? `node${i} down:\n${this.#cluster.log(i)}`
          : `node${i} at ${x.height}/${x.round} ${x.step}, ${x.pending} pending, ${x.online} online`,
      )
      .join('; ')
  }

  async #until(what: string, check: () => Promise<boolean>, timeoutMs = REJOIN_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!(await check())) {
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
      await sleep(100)
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

async function main(): Promise<number> {
  const skip = whyNoFuse()
  if (skip !== null) {
    console.log(`power: skipped: ${skip}`)
    return 0
  }
  const bin = lazyfsBinary()
  const seed = Number(args.seed)
  const run = new PowerRun(seed, args.verbose)
  const started = Date.now()
  let interrupted = false
  const onSignal = () => {
    interrupted = true
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    await run.setUp(bin)
    const cuts = run.schedule(Number(args.single), Number(args.all), Number(args.torn))
    console.log(`power: seed ${seed}, ${cuts.length} cuts planned: ${cuts.join(' ')}`)
    for (const kind of cuts) {
      if (interrupted || !(await run.cut(kind))) break
      await run.pause()
    }
    await run.settle()
    await run.check()
  } catch (error) {
    run.violations.push(`the run failed: ${(error as Error).stack ?? String(error)}`)
  } finally {
    await run.tearDown()
  }
  console.log(`power: ${run.summary()} in ${Math.round((Date.now() - started) / 1000)} s`)
  for (const v of run.violations) console.log(`power: violation: ${v}`)
  console.log(`power: ${run.cuts} cuts, ${run.violations.length} violations`)
  return run.violations.length === 0 ? 0 : 1
}

// Whatever a dead node left open (a socket, a fifo read) must not keep the run alive.
process.exit(await main())
