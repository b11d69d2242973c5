/**
 * A ledger only its members see (DESIGN.md, "Network": "Members only"), against a real 3-node
 * testnet on 127.0.0.1 and real machines outside it, each its own process (nonmember-peer.ts)
 * running the libp2p stack a node runs under a fresh key.
 *
 * What would leak without the gating, and how each leak shows here: a member's gossipsub that
 * read a non-member's subscriptions would forward it every entry batch (floodPublish), and open a
 * gossip stream to it with its own subscriptions; a member that read a non-member's direct
 * stream would keep it open and decode its frames (block sync answers only members, one layer
 * up, so the unread stream is what shows the network layer's gate). Anything the member sends
 * it on the direct protocol (a sync request on connect, a sync answer, a vote) arrives at the
 * direct handler the non-member serves, as it would at a node's.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { ApiError, Cluster, until } from './harness.ts'

const PEER = resolve(import.meta.dirname, 'nonmember-peer.ts')
/** How long the spy attacks: several blocks at the nodes' pace of about one a second. */
const SPY_SECONDS = 10
/** Non-member connections a node allows all together (GUEST_CONNECTIONS in core/net/host.ts). */
const GUEST_CAP = 8
/** ... and how long it lets one stay (GUEST_CONNECTION_MS), plus its maintenance tick. */
const GUEST_MS = 30_000
const TICK_MS = 2_000

type Event = Record<string, unknown> & { readonly event: string }

interface PeerRun {
  readonly events: Event[]
  /** The first event of this kind, once it has come. */
  next(event: string, timeoutMs: number): Promise<Event>
  readonly exited: Promise<number | null>
  kill(): void
}

function runPeer(args: readonly string[]): PeerRun {
  const child = spawn(process.execPath, ['--import', 'tsx', PEER, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const events: Event[] = []
  const waiting = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line) as Event)
    for (const wake of waiting) wake()
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const next = (event: string, timeoutMs: number) =>
    new Promise<Event>((resolveEvent, reject) => {
      const check = () => {
        const found = events.find((e) => e.event === event)
        if (found === undefined) return
        done()
        resolveEvent(found)
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no ${event} from the peer in ${timeoutMs} ms: ${tail(events)}`))
      }, timeoutMs)
      const gone = () => {
        done()
        reject(new Error(`the peer exited before ${event}: ${tail(events)}`))
      }
      const done = () => {
        clearTimeout(timer)
        waiting.delete(check)
      }
      waiting.add(check)
      void exited.then(() => setTimeout(gone, 100))
      check()
    })
  return { events, next, exited, kill: () => child.kill('SIGKILL') }
}

function tail(events: readonly Event[]): string {
  return events
    .slice(-8)
    .map((e) => JSON.stringify(e))
    .join('\n')
}

function transfer(n: number) {
  return { from: '@bank', to: `acct${n % 7}`, asset: 'EUR', amount: n + 1, memo: `n${n}` }
}

describe('a ledger only its members see', { timeout: 600_000 }, () => {
  const c = Cluster.create({ nodes: 3, env: { NODE_DEBUG: 'tally-net' } })
  const peers: PeerRun[] = []
  let ledger = ''
  let n = 0

  before(async () => {
    await c.startAll()
    ledger = (await c.status(0)).ledger
    const first = (await c.submit(0, transfer(n++))).id
    await waitCommitted([first])
  })

  after(async () => {
    for (const p of peers) p.kill()
    await c.destroy()
  })

  function start(args: readonly string[]): PeerRun {
    const p = runPeer(args)
    peers.push(p)
    return p
  }

  function member0(): string {
    return c.ready(0).addrs.find((a) => a.includes('/ip4/127.0.0.1/'))!
  }

  async function waitCommitted(ids: readonly string[], timeoutMs = 60_000): Promise<void> {
    await until(
      `${ids.length} entries committed on all three nodes`,
      async () => {
        for (const i of [0, 1, 2]) {
          for (const id of ids) {
            const e = await c.entry(i, id).catch((error: unknown) => {
              if (error instanceof ApiError && error.status === 404) return null
              throw error
            })
            if (e?.status !== 'committed') return undefined
          }
        }
        return true
      },
      timeoutMs,
      250,
    )
  }

  /** Submits to the three nodes in turn until `stop` is called; the ids they acknowledged. */
  function trickle(everyMs: number) {
    const ids: string[] = []
    let stopped = false
    const done = (async () => {
      while (!stopped) {
        ids.push((await c.submit(n % 3, transfer(n++))).id)
        await new Promise((r) => setTimeout(r, everyMs))
      }
    })()
    return {
      ids,
      stop: async () => {
        stopped = true
        await done
      },
    }
  }

  it('a non-member that dials a member, subscribes to the topics and asks for block sync gets no entry, block, vote or sync answer; the join hello tells it only the ledger id, name and counts; the members keep committing', async () => {
    const heightBefore = (await c.status(0)).height
    const load = trickle(300)
    const spy = start(['spy', member0(), ledger, String(SPY_SECONDS)])
    try {
      const { id } = await spy.next('ready', 30_000)
      // node0 must have met the spy, or receiving nothing would prove nothing.
      await until('node0 lists the spy as connected', async () => {
        const p = (await c.peers(0)).peers.find((x) => x.id === id)
        return p?.connected === true ? true : undefined
      })
      await spy.next('done', (SPY_SECONDS + 30) * 1000)
      assert.equal(await spy.exited, 0, `the spy failed: ${tail(spy.events)}`)
    } finally {
      await load.stop()
    }
    await waitCommitted(load.ids)

    const done = spy.events.find((e) => e.event === 'done')!
    const received = spy.events.filter((e) =>
      ['gossip', 'gossip-stream-in', 'direct-stream-in', 'direct-frame', 'direct-read'].includes(
        e.event,
      ),
    )
    assert.deepEqual(received, [], 'the non-member received something of the ledger')
    assert.equal(done.gossipMessages, 0)
    assert.equal(done.gossipStreamsIn, 0, 'a member opened a gossip stream to the non-member')
    assert.deepEqual(done.subscribers, { entries: 0, consensus: 0 }, 'a member told it its topics')
    assert.equal(done.directFramesIn, 0)
    assert.equal(done.directBytesRead, 0)
    // The attack happened: one connection held throughout, and sync requests sent many times
    // over, each on a stream of the direct protocol that node0 accepted by name (it serves the
    // protocol, to members) and then cut unread.
    assert.equal(done.connections, 1, 'the spy lost its connection to node0')
    assert.equal(done.stillConnected, true)
    assert.ok(Number(done.syncRequestsSent) >= 5, `only ${done.syncRequestsSent} sync requests`)
    assert.ok(Number(done.directNamed) >= 1, 'node0 never accepted the direct protocol')
    assert.equal(
      done.directResetByMember,
      done.directOpened,
      `node0 kept a direct stream of the non-member open: ${tail(spy.events)}`,
    )

    const joins = spy.events.filter((e) => e.event === 'join' || e.event === 'join-failed')
    assert.equal(joins.length, 2, tail(spy.events))
    const hello = joins[0]!.answer as { type: string; info: Record<string, unknown> }
    assert.deepEqual(Object.keys(hello).sort(), ['info', 'type'])
    assert.equal(hello.type, 'info')
    assert.deepEqual(Object.keys(hello.info).sort(), [
      'ledger',
      'members',
      'name',
      'online',
      'since',
    ])
    const status = await c.status(0)
    assert.equal(hello.info.ledger, ledger)
    assert.equal(hello.info.name, status.ledgerName)
    assert.equal(hello.info.members, 3)
    assert.ok(typeof hello.info.online === 'number' && hello.info.online <= 3)
    assert.equal(typeof hello.info.since, 'number')
    // Asking to join with the ledger's id gets the request listed, and nothing of the ledger.
    assert.deepEqual(joins[1]!.answer, { type: 'pending' })

    // Several blocks with entries committed on all three while the spy was at it.
    const heights = new Set<number>()
    for (const entryId of load.ids) heights.add((await c.entry(0, entryId)).height!)
    assert.ok(heights.size >= 3, `the entries went into only ${heights.size} blocks`)
    for (const i of [0, 1, 2]) {
      const h = (await c.status(i)).height
      assert.ok(h >= heightBefore + 3, `node${i} is at ${h}, from ${heightBefore}`)
    }
    console.log(
      `nonmember: ${done.syncRequestsSent} sync requests on ${done.directOpened} direct streams, ` +
        `${done.directResetByMember} cut unread (${done.directNamed} after accepting the protocol ` +
        `name); 0 gossip messages; ${load.ids.length} entries committed in ${heights.size} blocks meanwhile`,
    )
  })

  it(`past ${GUEST_CAP} non-member connections a member refuses more, still lets members in and commits, and closes each non-member's connection after ${GUEST_MS / 1000} s`, async () => {
    const count = GUEST_CAP + 4
    const crowd = start(['crowd', member0(), String(count), String((GUEST_MS + 15_000) / 1000)])
    const held = await crowd.next('held', 120_000)
    assert.equal(held.admitted, GUEST_CAP, tail(crowd.events))
    assert.equal(held.refused, count - GUEST_CAP, tail(crowd.events))

    // A member coming back while the guests fill their share is let in, and votes again.
    const id1 = c.ready(1).nodeId
    await c.kill(1, 'SIGTERM')
    await c.start(1)
    await until('node0 and node1 connected again', async () => {
      const p = (await c.peers(0)).peers.find((x) => x.id === id1)
      return p?.connected === true ? true : undefined
    })
    assert.deepEqual(
      crowd.events.filter((e) => e.event === 'closed'),
      [],
      'a guest left before node1 came back: the share was not full',
    )
    const load = trickle(300)
    await new Promise((r) => setTimeout(r, 3000))
    await load.stop()
    await waitCommitted(load.ids)
    const since = (await c.entry(0, load.ids[0]!)).height!
    await until('a commit signed by node1', async () => {
      const top = (await c.status(0)).height
      for (let h = top; h >= since; h--) {
        const b = await c.block(0, h)
        if (b.commit.signers.includes(id1) || b.lastCommit?.signers.includes(id1)) return true
      }
      await c.submit(0, transfer(n++))
      return undefined
    })

    // Each guest goes after its time, which frees the share for the next machine that asks.
    const done = await crowd.next('done', GUEST_MS + 60_000)
    assert.equal(done.closed, GUEST_CAP, `some guests were never closed: ${tail(crowd.events)}`)
    for (const e of crowd.events.filter((x) => x.event === 'closed')) {
      assert.ok(
        Number(e.afterMs) >= GUEST_MS - 1000 && Number(e.afterMs) <= GUEST_MS + 2 * TICK_MS + 2000,
        `a guest was closed after ${e.afterMs} ms`,
      )
    }
    const next = start(['crowd', member0(), '1', '1'])
    const nextHeld = await next.next('held', 60_000)
    assert.equal(nextHeld.admitted, 1, tail(next.events))
  })
})
