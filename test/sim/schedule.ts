/**
 * One seeded schedule: a cluster under chaos (crashes, crashes in the middle of an fsync,
 * partitions, loss, duplication, reordering, a node lost for good, equivocating nodes in
 * byzantine mode) while clients submit entries everywhere, then a heal with a quorum up, then
 * the invariants.
 */
import { Verifier } from '../../core/ledger/crypto.ts'
import { faultsTolerated } from '../../core/ledger/quorum.ts'
import type { EntryBody, FaultModel } from '../../core/ledger/types.ts'
import { Checker } from './checker.ts'
import { Prng } from './prng.ts'
import { World } from './world.ts'

export const CHAOS_MS = 20_000
/**
 * Liveness: once the last fault heals with a quorum up, every live node commits a new height
 * within this much virtual time. The worst case it covers: rounds that grew during the chaos
 * (each round's timeouts grow by 250 ms), a restarted node catching up by block sync, and an
 * idle heartbeat of 5 s when no entry is waiting.
 */
export const LIVENESS_BOUND_MS = 30_000
/** No loss: every acknowledged entry is settled everywhere within this much after the heal. */
export const SETTLE_BOUND_MS = 60_000

export interface ScheduleOptions {
  readonly seed: number
  readonly faultModel: FaultModel
  /** Fixed cluster size; otherwise the seed picks 3–5 (crash) or 4–5 (byzantine). */
  readonly nodes?: number | undefined
  readonly trace?: boolean
  /** Shared across schedules: verifying a signature is a pure function, so its memo is too. */
  readonly verifier?: Verifier
}

export interface ScheduleResult {
  readonly seed: number
  readonly faultModel: FaultModel
  readonly nodes: number
  readonly scenario: 'chaos' | 'founding'
  readonly violations: readonly string[]
  readonly trace: readonly string[]
  readonly heights: number
  readonly settled: number
  readonly events: number
  readonly virtualMs: number
  /** Virtual time from the heal to the last live node's first new height. */
  readonly recoveryMs: number | null
}

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin']

export function runSchedule(o: ScheduleOptions): ScheduleResult {
  const rng = new Prng(o.seed)
  const founding = o.faultModel === 'crash' && (o.nodes ?? 3) === 3 && o.seed % 10 === 0
  const n = founding ? 3 : (o.nodes ?? (o.faultModel === 'crash' ? rng.int(3, 5) : rng.int(4, 5)))
  const verifier = o.verifier ?? new Verifier()
  const tolerated = faultsTolerated(n, o.faultModel)
  const world = new World(rng, verifier, {
    seed: o.seed,
    nodes: n,
    faultModel: o.faultModel,
  })
  let mayDie = tolerated
  if (o.faultModel === 'byzantine' && rng.chance(0.8)) {
    for (const i of rng.shuffle(world.nodes.map((x) => x.index)).slice(0, tolerated)) {
      world.nodes[i]!.byzantine = true
      mayDie--
    }
  }
  const checker = new Checker(world.nodes, world.genesis, verifier)
  world.observer = checker
  if (o.trace === true) {
    checker.traceLines = []
    world.tracing = true
  }
  world.net = { baseMs: rng.range(0.1, 2), jitterMs: rng.pick([0.5, 2, 10]), loss: 0, duplicate: 0 }
  world.fsyncMs = [rng.range(0.05, 0.5), rng.range(0.5, 5)]
  for (const node of world.nodes) world.at(rng.range(0, 50), (w) => w.start(node.index))
  // Its own stream, so that seeds without a rogue replay as they did before there was one.
  const rogue = new Prng(o.seed ^ 0x5eed_f00d)
  if (!founding && o.faultModel === 'crash' && rogue.chance(1 / 3)) {
    world.nodes[rogue.int(0, n - 1)]!.pusher = true
  }
  const byz = world.nodes.filter((x) => x.byzantine).map((x) => `n${x.index}`)
  const pushers = world.nodes.filter((x) => x.pusher || x.byzantine)
  world.trace(
    `seed ${o.seed}: ${n} nodes, ${o.faultModel}, ${founding ? 'founding scenario' : 'chaos'}` +
      (byz.length > 0 ? `, byzantine ${byz.join(' ')}` : '') +
      (world.nodes.some((x) => x.pusher)
        ? `, n${world.nodes.findIndex((x) => x.pusher)} pushes far rounds`
        : ''),
  )
  // A byzantine node keeps at it to the end: liveness after the heal is checked with it still
  // sending, and in byzantine mode one node is below the skip share. A crash-mode pusher is
  // outside the fault model (a member that lies could as well equivocate, and one that keeps
  // moving the others out of each round that fails can keep them from meeting a member that
  // lags); what its seeds check is that its far votes did no lasting harm, so it stops at the
  // heal.
  for (const x of pushers) {
    const until = x.byzantine ? CHAOS_MS + SETTLE_BOUND_MS : CHAOS_MS
    for (let t = rogue.range(200, 1_500); t < until; t += rogue.range(300, 1_500)) {
      world.at(t, (w) => w.pushRounds(x.index, rogue))
    }
  }

  scheduleClients(world, rng, CHAOS_MS + 2_000)
  let victim = -1
  let killedAt = 0
  if (founding) {
    victim = rng.int(0, 2)
    killedAt = rng.range(3_000, 8_000)
    world.at(killedAt, (w) => w.crash(victim, true))
  } else {
    scheduleChaos(world, rng, mayDie)
  }

  world.run(CHAOS_MS)
  const healAt = world.now
  world.groups = world.nodes.map(() => 0)
  world.net = { ...world.net, loss: 0, duplicate: 0 }
  world.trace('heal: network whole, every node but the lost ones restarted')
  for (const node of world.nodes) {
    node.crashInNextSync = false
    if (!node.dead) world.start(node.index)
  }
  const live = world.nodes.filter((x) => !x.dead)
  const survivors = new Set(live.map((x) => x.index))
  const h0 = Math.max(0, ...world.nodes.map((x) => x.replica?.height ?? 0))
  const done = () =>
    live.every((x) => (x.replica?.height ?? 0) > h0 && checker.unsettled(x, survivors).length === 0)
  world.run(healAt + SETTLE_BOUND_MS, done)

  let recoveryMs: number | null = 0
  for (const x of live) {
    const first = checker.commitTimes[x.index]!.find((c) => c.height > h0 && c.at >= healAt)
    if (first === undefined || first.at - healAt > LIVENESS_BOUND_MS) {
      checker.violations.push(
        `liveness: n${x.index} committed no height above ${h0} within ${LIVENESS_BOUND_MS / 1000} s of the heal` +
          (first === undefined ? '' : ` (it took ${((first.at - healAt) / 1000).toFixed(1)} s)`),
      )
      recoveryMs = null
    } else if (recoveryMs !== null) {
      recoveryMs = Math.max(recoveryMs, first.at - healAt)
    }
  }
  for (const x of live) {
    const missing = checker.unsettled(x, survivors)
    if (missing.length > 0) {
      const a = checker.acknowledged.get(missing[0]!)!
      checker.violations.push(
        `no loss: ${missing.length} acknowledged entries not settled at n${x.index} ${SETTLE_BOUND_MS / 1000} s after the heal, ` +
          `e.g. ${missing[0]!.slice(0, 12)} acknowledged by n${a.node} at ${(a.at / 1000).toFixed(3)} s`,
      )
    }
  }
  if (founding) checkFounding(checker, victim, killedAt, healAt)
  checker.finish(world.nodes)

  return {
    seed: o.seed,
    faultModel: o.faultModel,
    nodes: n,
    scenario: founding ? 'founding' : 'chaos',
    violations: checker.violations,
    trace: checker.traceLines ?? [],
    heights: Math.max(0, ...world.nodes.map((x) => x.replica?.height ?? 0)),
    settled: checker.acknowledged.size,
    events: world.events,
    virtualMs: world.now,
    recoveryMs,
  }
}

/**
 * The founding promise: unplug one of three and the other two keep committing, and the lost
 * machine costs a round at most twice (until the commit recorded in a block shows it missing).
 */
function checkFounding(checker: Checker, victim: number, killedAt: number, until: number): void {
  for (let i = 0; i < 3; i++) {
    if (i === victim) continue
    const after = checker.commitTimes[i]!.filter((c) => c.at > killedAt)
    if (after.length < 5) {
      checker.violations.push(
        `founding: n${i} committed only ${after.length} heights in the ${((until - killedAt) / 1000).toFixed(1)} s after n${victim} died`,
      )
    }
    const slow = after.filter((c) => c.round > 0).length
    if (slow > 2) {
      checker.violations.push(
        `founding: after n${victim} died, n${i} needed a second round on ${slow} heights (at most 2: the proposer rule passes over a missing validator)`,
      )
    }
  }
}

function scheduleClients(world: World, rng: Prng, until: number): void {
  for (let t = rng.range(100, 300); t < until; t += rng.range(60, 500)) {
    const roll = rng.next()
    const nonce = () => rng.int(0, 2 ** 48)
    const node = rng.int(0, world.nodes.length - 1)
    if (roll < 0.25) {
      const body = transfer('@bank', rng.pick(USERS), rng.int(100, 5_000))
      const k = nonce()
      world.at(t, (w) => w.submit(node, body, k))
    } else if (roll < 0.9) {
      const from = rng.pick(USERS)
      const body = transfer(from, rng.pick(USERS.filter((u) => u !== from)), rng.int(1, 3_000))
      const k = nonce()
      world.at(t, (w) => w.submit(node, body, k))
    } else {
      // Two spends of one balance at two nodes at once: at most one may leave it negative.
      const from = rng.pick(USERS)
      const [a, b] = rng.shuffle(USERS.filter((u) => u !== from))
      const amount = rng.int(1_500, 3_000)
      const other = (node + 1 + rng.int(0, world.nodes.length - 2)) % world.nodes.length
      const k1 = nonce()
      const k2 = nonce()
      world.at(t, (w) => {
        w.submit(node, transfer(from, a!, amount), k1)
        w.submit(other, transfer(from, b!, amount), k2)
      })
    }
  }
}

function transfer(from: string, to: string, amount: number): EntryBody {
  return { kind: 'transfer', from, to, asset: 'EUR', amount: BigInt(amount), memo: '' }
}

function scheduleChaos(world: World, rng: Prng, mayDie: number): void {
  let deaths = mayDie
  for (let t = rng.range(500, 2_000); t < CHAOS_MS; t += rng.range(300, 2_500)) {
    const roll = rng.next()
    world.at(t, (w) => {
      const up = w.nodes.filter((x) => x.replica !== null)
      const down = w.nodes.filter((x) => x.replica === null && !x.dead)
      if (roll < 0.15 && up.length > 0) {
        w.crash(rng.pick(up).index)
      } else if (roll < 0.25 && up.length > 0) {
        rng.pick(up).crashInNextSync = true
      } else if (roll < 0.45 && down.length > 0) {
        w.start(rng.pick(down).index)
      } else if (roll < 0.6) {
        const order = rng.shuffle(w.nodes.map((x) => x.index))
        const cut = rng.int(1, w.nodes.length - 1)
        w.groups = w.nodes.map((x) => (order.indexOf(x.index) < cut ? 0 : 1))
        w.trace(
          `partition ${order
            .slice(0, cut)
            .map((i) => `n${i}`)
            .join(' ')} | ${order
            .slice(cut)
            .map((i) => `n${i}`)
            .join(' ')}`,
        )
      } else if (roll < 0.75) {
        w.groups = w.nodes.map(() => 0)
        w.trace('partition healed')
      } else if (roll < 0.93) {
        w.net = {
          baseMs: w.net.baseMs,
          jitterMs: rng.pick([0.5, 2, 10, 40]),
          loss: rng.pick([0, 0, 0.05, 0.2, 0.5]),
          duplicate: rng.pick([0, 0.02, 0.1]),
        }
        w.trace(
          `network: loss ${w.net.loss}, duplicate ${w.net.duplicate}, jitter ${w.net.jitterMs} ms`,
        )
      } else if (deaths > 0) {
        const candidates = w.nodes.filter((x) => !x.dead && !x.byzantine)
        if (candidates.length > 0) {
          deaths--
          w.crash(rng.pick(candidates).index, true)
        }
      }
    })
  }
}
