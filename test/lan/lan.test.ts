/**
 * An office LAN, for real: three `tally node` processes, one per network namespace, started on
 * empty data folders with mDNS on and no addresses given. One creates a ledger, the others find
 * it on the LAN, ask to join and are approved through the API; then a cable is pulled and put
 * back, a member is removed, and the whole office restarts with mDNS off.
 *
 * The figures the issue asks for are printed as `lan: …` lines. Nothing here asserts a speed:
 * every wait is generous, and a slow machine only makes the figures larger.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it, type TestContext } from 'node:test'
import type {
  BlockView,
  EntryView,
  JoinRequestView,
  MemberView,
  PeerView,
  SetupView,
  StatusView,
  SubmitResponse,
  TransferRequest,
} from '../../core/api/types.ts'
import { MDNS_INTERVAL_MS } from '../../core/net/discovery.ts'
import { LOBBY_POLL_MS } from '../../core/node/lobby.ts'
import { type EventLog, LanNode, sleep, until } from './lan-node.ts'
import { Lan } from './netns.ts'

/** agent.ts exports it too, but importing agent.ts would run it. */
const MDNS_PORT = 5353
const SHORT_ID = /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/
/** Entries submitted on a timer while something is measured; see `Load`. */
const LOAD_EVERY_MS = 100

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** The least number of members that is more than half of `members`: the crash-fault quorum. */
const crashQuorum = (members: number) => Math.floor(members / 2) + 1

let serial = 0
function transfer(memo: string): TransferRequest {
  serial++
  return { from: '@bank', to: `acct${serial % 5}`, asset: 'EUR', amount: serial, memo }
}

async function setup(n: LanNode): Promise<SetupView> {
  return n.call<SetupView>('GET', '/api/setup')
}

async function status(n: LanNode): Promise<StatusView> {
  return n.call<StatusView>('GET', '/api/status')
}

async function peerRow(n: LanNode, id: string): Promise<PeerView | undefined> {
  const { peers } = await n.call<{ peers: PeerView[] }>('GET', '/api/peers')
  return peers.find((p) => p.id === id)
}

async function block(n: LanNode, height: number): Promise<BlockView> {
  return n.call<BlockView>('GET', `/api/blocks/${height}`)
}

/** Waits until the entry is committed at `n`, and returns it as `n` shows it. */
async function committedAt(n: LanNode, id: string, timeoutMs = 30_000): Promise<EntryView> {
  return until(
    `entry ${id.slice(0, 8)} committed at ${n.name}`,
    async () => {
      const answer = await n.request<EntryView>('GET', `/api/entries/${id}`)
      if (answer.status !== 200) return undefined
      assert.notEqual(answer.body.status, 'rejected', `${n.name}: ${answer.body.reason}`)
      return answer.body.status === 'committed' ? answer.body : undefined
    },
    timeoutMs,
  )
}

/**
 * Submits at `at` and waits until every node in `on` shows the entry committed, at one height.
 */
async function submitAndCommit(at: LanNode, on: readonly LanNode[], memo: string) {
  const r = await at.call<SubmitResponse>('POST', '/api/entries', transfer(memo))
  const views = await Promise.all(on.map((n) => committedAt(n, r.id)))
  const heights = new Set(views.map((v) => v.height))
  assert.equal(heights.size, 1, `${memo}: committed at different heights: ${[...heights]}`)
  for (const v of views) assert.equal(v.status, 'committed')
  return { id: r.id, height: views[0]!.height! }
}

/**
 * The first height from `from` on whose commit, as `n` knows it, carries `validator`'s
 * precommit: either the commit `n` recorded when it decided the block, or the one the next
 * block carries (which adds precommits that arrived after the decision). Only a precommit that
 * reached a commit is a vote that counted; seeing the machine vote, or connected, is not.
 */
async function firstHeightSignedBy(
  n: LanNode,
  validator: string,
  from: number,
  timeoutMs = 30_000,
): Promise<number> {
  let next = from
  return until(
    `a commit at ${n.name} carrying ${validator.slice(0, 8)}'s precommit`,
    async () => {
      const top = (await status(n)).height
      for (; next <= top; next++) {
        const b = await block(n, next)
        if (b.commit.signers.includes(validator)) return next
        if (next < top && (await block(n, next + 1)).lastCommit?.signers.includes(validator)) {
          return next
        }
      }
      return undefined
    },
    timeoutMs,
  )
}

/** When `log` saw the block at `height` committed (its node's own commit, not a sync). */
function commitSeenAt(log: EventLog, height: number): number {
  const hit = log.blocks().find((b) => b.height === height)
  assert.ok(hit, `no block event for height ${height}`)
  return hit.at
}

/**
 * Entries submitted at a steady pace at some nodes. An idle ledger makes a heartbeat height only
 * every 5 s, so without traffic a commit gap or the wait for a joiner's first vote would measure
 * that timer, not what the network and consensus do; with an entry every 100 ms, a gap between
 * blocks is a stall.
 */
class Load {
  readonly #timer: NodeJS.Timeout
  failures = 0
  sent = 0

  constructor(nodes: readonly LanNode[]) {
    let turn = 0
    this.#timer = setInterval(() => {
      const live = nodes.filter((n) => n.running)
      const n = live[turn++ % Math.max(1, live.length)]
      if (n === undefined) return
      this.sent++
      n.call('POST', '/api/entries', transfer('load')).catch(() => {
        this.failures++
      })
    }, LOAD_EVERY_MS)
  }

  stop(): void {
    clearInterval(this.#timer)
  }
}

/** The longest time between consecutive commits `log` saw within [from, to]. */
function longestGap(log: EventLog, from: number, to: number): { ms: number; at: number } {
  const times = log
    .blocks()
    .map((b) => b.at)
    .filter((t) => t >= from && t <= to)
  let best = { ms: 0, at: from }
  for (let i = 1; i < times.length; i++) {
    const ms = times[i]! - times[i - 1]!
    if (ms > best.ms) best = { ms, at: times[i - 1]! }
  }
  return best
}

/**
 * Whether anything in the host's namespace holds the mDNS port, read from the namespace's own
 * /proc/net/udp (a UDP socket's local address is `hex ip:hex port` there).
 */
async function mdnsBound(lan: Lan, n: LanNode): Promise<boolean> {
  const { stdout } = await lan.exec(n.host, 'cat', ['/proc/net/udp'])
  const port = MDNS_PORT.toString(16).toUpperCase().padStart(4, '0')
  return stdout
    .split('\n')
    .slice(1)
    .some((line) => line.trim().split(/\s+/)[1]?.endsWith(`:${port}`))
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!
}

const reason = await Lan.unavailable()

describe('an office LAN of three Tally machines (network namespaces)', {
  skip: reason ?? false,
}, () => {
  let lan: Lan | undefined
  let root = ''
  let nodes: LanNode[] = []
  let n0: LanNode
  let n1: LanNode
  let n2: LanNode
  /** node0's event stream, open from the ledger's creation to the office restart. */
  let events0: EventLog | undefined
  let load: Load | undefined
  let ledger = ''
  const figures: string[] = []
  let failedStep: string | null = null

  const figure = (line: string) => {
    figures.push(line)
    console.log(line)
  }

  /** A step of one story: once a step fails, the later ones are skipped rather than failed. */
  const step = (name: string, fn: (t: TestContext) => Promise<void>) =>
    it(name, async (t) => {
      if (failedStep !== null) {
        t.skip(`an earlier step failed: ${failedStep}`)
        return
      }
      try {
        await fn(t)
      } catch (error) {
        failedStep = name
        const logs = nodes.map((n) => `--- ${n.name} stderr:\n${n.log()}`).join('\n')
        throw new Error(`${(error as Error).message}\n${logs}`, { cause: error })
      }
    })

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'tally-lan-'))
    // `after` does not run when the process dies of an exception; the Lan cleans up its own.
    const made = root
    process.once('exit', () => rmSync(made, { recursive: true, force: true }))
    const office = await Lan.create({ hosts: 3 })
    lan = office
    nodes = await Promise.all(office.hosts.map((h) => LanNode.create(office, h, root)))
    ;[n0, n1, n2] = nodes as [LanNode, LanNode, LanNode]
  })

  after(async () => {
    load?.stop()
    events0?.close()
    // Killing the Lan kills every process in its namespaces (nodes and bridges) first.
    await lan?.destroy()
    if (root !== '') rmSync(root, { recursive: true, force: true })
    if (figures.length > 0) console.log(`lan figures:\n  ${figures.join('\n  ')}`)
  })

  step(
    'machines on a LAN without a ledger list none, then find by mDNS the ledger one of them creates',
    async () => {
      // Two machines first; the third is started once the ledger exists, so that its time from
      // start to discovery is the one a newcomer to an office sees.
      const [r0, r1] = await Promise.all([n0.start(), n1.start()])
      assert.equal(r0.ledger, null)
      assert.equal(r1.ledger, null)
      // Long enough for each to have seen the other by mDNS and asked it what it holds: a
      // machine without a ledger must not pass for one.
      await sleep(MDNS_INTERVAL_MS + LOBBY_POLL_MS + 500)
      for (const n of [n0, n1]) {
        assert.ok(await mdnsBound(lan!, n), `${n.name} runs no mDNS`)
        const s = await setup(n)
        assert.ok(s.state === 'no-ledger', `${n.name} is ${s.state}`)
        assert.deepEqual(s.ledgers, [], `${n.name} lists a ledger where none exists`)
        assert.equal(s.machine.name, n.name)
        assert.match(s.machine.shortId, SHORT_ID)
      }

      const created = await n0.request<SetupView>('POST', '/api/ledger', { name: 'Office' })
      assert.equal(created.status, 201)
      assert.ok(created.body.state === 'member', JSON.stringify(created.body))
      ledger = created.body.ledger
      const createdAt = Date.now()
      events0 = await n0.events()

      const seenBy = async (n: LanNode) =>
        until(`${n.name} to list the ledger`, async () => {
          const s = await setup(n)
          assert.notEqual(s.state, 'member')
          return s.state !== 'member' ? s.ledgers.find((l) => l.ledger === ledger) : undefined
        })
      const found1 = await seenBy(n1)
      figure(
        `lan: ledger created→listed by a running machine (mDNS) ${seconds(Date.now() - createdAt)}`,
      )

      const started2 = Date.now()
      await n2.start()
      const ready2 = Date.now()
      const found2 = await seenBy(n2)
      const listed2 = Date.now()
      figure(
        `lan: start→discovery (a new machine started→lists the ledger) ${seconds(listed2 - started2)}` +
          ` (process start→API ready ${seconds(ready2 - started2)}, ready→listed ${seconds(listed2 - ready2)})`,
      )

      for (const found of [found1, found2]) {
        assert.equal(found.name, 'Office')
        assert.equal(found.members, 1)
        assert.equal(found.online, 1)
        assert.ok(found.since <= createdAt && found.since > createdAt - 60_000)
      }
    },
  )

  step(
    'machines ask to join the ledger they found, and its member lists them by name and short id',
    async () => {
      for (const n of [n1, n2]) {
        const asked = await n.request<SetupView>('POST', '/api/join', { ledger })
        assert.equal(asked.status, 202, JSON.stringify(asked.body))
        assert.equal(asked.body.state, 'joining')
      }
      const requests = await until('both join requests at node0', async () => {
        const r = await n0.call<{ requests: JoinRequestView[] }>('GET', '/api/join-requests')
        return r.requests.length >= 2 ? r.requests : undefined
      })
      assert.equal(requests.length, 2)
      for (const n of [n1, n2]) {
        const own = await setup(n)
        assert.equal(own.state, 'joining')
        const listed = requests.find((r) => r.id === own.machine.nodeId)
        assert.ok(listed, `${n.name} is not among the join requests`)
        // What a person compares between the two screens before approving.
        assert.match(listed.shortId, SHORT_ID)
        assert.equal(listed.shortId, own.machine.shortId)
        assert.equal(listed.name, n.name)
        assert.ok(listed.addr.includes(`/ip4/${n.host.ip}/`), `request address ${listed.addr}`)
      }
    },
  )

  step('approved machines become members, fetch the ledger and vote', async () => {
    load = new Load([n0])
    for (const n of [n1, n2]) {
      const from = (await status(n0)).height + 1
      const approvedAt = Date.now()
      const r = await n0.request<SubmitResponse>('POST', `/api/join-requests/${n.id}/approve`)
      assert.equal(r.status, 202, JSON.stringify(r.body))
      // One membership change per height: the next approval waits for this one's commit.
      await committedAt(n0, r.body.id)
      await until(`${n.name} to be a member`, async () => {
        const s = await setup(n)
        return s.state === 'member' && s.ledger === ledger ? s : undefined
      })
      const h = await firstHeightSignedBy(n0, n.id, from)
      figure(
        `lan: approval→first vote of ${n.name} (its precommit in a commit, height ${h}) ${seconds(
          commitSeenAt(events0!, h) - approvedAt,
        )}`,
      )
    }
    const members = await n0.call<{ members: MemberView[] }>('GET', '/api/members')
    assert.deepEqual(members.members.map((m) => m.name).sort(), [n0.name, n1.name, n2.name])
    const requests = await n0.call<{ requests: JoinRequestView[] }>('GET', '/api/join-requests')
    assert.deepEqual(requests.requests, [], 'approved machines are still listed as waiting')
  })

  step('an entry submitted at any machine commits on all three at the same height', async () => {
    await Promise.all(nodes.map((n) => submitAndCommit(n, nodes, `from ${n.name}`)))
    // The two joiners were introduced to node0 only; they find each other on the LAN.
    const s = await Promise.all(
      nodes.map((n) =>
        until(`${n.name} to see all three members online`, async () => {
          const x = await status(n)
          return x.online === 3 ? x : undefined
        }),
      ),
    )
    for (const x of s) {
      assert.equal(x.members, 3)
      assert.equal(x.quorum, crashQuorum(3))
      assert.equal(x.hasQuorum, true)
    }
  })

  step(
    'with one machine unplugged the other two keep committing, mark it offline, and refuse a removal that would stall them',
    async () => {
      const calm = events0!.blocks().slice(-20)
      const typical = median(calm.slice(1).map((b, i) => b.at - calm[i]!.at))
      const unpluggedAt = Date.now()
      await lan!.unplug(n2.host)

      const marked = await Promise.all(
        [n0, n1].map(async (n) => {
          await until(`${n.name} to mark ${n2.name} offline`, async () => {
            const row = await peerRow(n, n2.id)
            return row !== undefined && !row.connected ? row : undefined
          })
          return Date.now() - unpluggedAt
        }),
      )
      figure(`lan: unplug→marked offline ${marked.map(seconds).join(' (node0), ')} (node1)`)

      const during = await submitAndCommit(n1, [n0, n1], 'while node2 is unplugged')
      const s0 = await status(n0)
      assert.equal(s0.online, 2)
      assert.equal(s0.hasQuorum, true)
      assert.ok((await status(n2)).height < during.height, 'the unplugged machine kept up')

      // Removing node1 now would leave node0 and the unplugged node2: 1 of 2 online, quorum 2.
      const refused = await n0.request<{ error: string }>('POST', `/api/members/${n1.id}/remove`)
      assert.equal(refused.status, 409)
      assert.match(refused.body.error, /would leave 1 of 2 members online/)
      assert.match(refused.body.error, /need 2/)

      // Let the stretch after the unplug run long enough to show its worst gap.
      await sleep(2000)
      const gap = longestGap(events0!, unpluggedAt - 2000, Date.now())
      figure(
        `lan: longest commit gap around the unplug ${seconds(gap.ms)} (opened at unplug${
          gap.at < unpluggedAt ? '−' : '+'
        }${seconds(Math.abs(gap.at - unpluggedAt))}; typical gap before ${seconds(typical)})`,
      )
    },
  )

  step('a machine plugged back in catches up and votes again', async () => {
    const pluggedAt = Date.now()
    await lan!.plug(n2.host)
    const h = (await status(n0)).height
    await until(`${n2.name} to reach height ${h}`, async () =>
      (await status(n2)).height >= h ? true : undefined,
    )
    figure(`lan: plug→caught up ${seconds(Date.now() - pluggedAt)}`)
    const hashes = await Promise.all(nodes.map((n) => block(n, h)))
    for (const b of hashes) {
      assert.equal(b.hash, hashes[0]!.hash)
      assert.equal(b.stateHash, hashes[0]!.stateHash)
    }
    const voted = await firstHeightSignedBy(n0, n2.id, h + 1)
    figure(
      `lan: plug→votes again (height ${voted}) ${seconds(commitSeenAt(events0!, voted) - pluggedAt)}`,
    )
    await until(`${n0.name} to mark ${n2.name} online`, async () =>
      (await peerRow(n0, n2.id))?.connected === true ? true : undefined,
    )
    await submitAndCommit(n2, nodes, 'after the plug')
  })

  step(
    'a member removed through the API leaves a quorum recomputed over the other two',
    async () => {
      const before = await status(n0)
      assert.equal(before.members, 3)
      assert.equal(before.quorum, crashQuorum(3))
      const r = await n0.request<SubmitResponse>('POST', `/api/members/${n2.id}/remove`)
      assert.equal(r.status, 202, JSON.stringify(r.body))
      const removal = await committedAt(n0, r.body.id)
      const afterRemoval = await Promise.all(
        [n0, n1].map((n) =>
          until(`${n.name} to count 2 members`, async () => {
            const s = await status(n)
            return s.members === 2 ? s : undefined
          }),
        ),
      )
      for (const s of afterRemoval) {
        assert.equal(s.quorum, crashQuorum(2))
        assert.equal(s.online, 2)
        assert.equal(s.hasQuorum, true)
        assert.ok(s.height > removal.height!)
      }
      const members = await n0.call<{ members: MemberView[] }>('GET', '/api/members')
      assert.deepEqual(members.members.map((m) => m.id).sort(), [n0.id, n1.id].sort())
      const now = afterRemoval[0]!
      // Under the crash model a quorum is more than half: 2 of 3 and 2 of 2 alike, so what the
      // removal changes is how many may be lost (1, then none), which the counts show.
      figure(
        `lan: removal: members ${before.members}→${now.members}, quorum ${before.quorum} of ${before.members}→${now.quorum} of ${now.members} (can lose ${before.members - before.quorum}→${now.members - now.quorum})`,
      )

      // The removed machine is retired: the other two commit without it.
      await n2.stop()
      await submitAndCommit(n0, [n0, n1], 'without the removed machine')
      await submitAndCommit(n1, [n0, n1], 'without the removed machine, from node1')
    },
  )

  step(
    'after an office-wide restart with mDNS off, the members find each other at their remembered addresses and commit',
    async () => {
      load?.stop()
      events0?.close()
      // Where each machine listens on the LAN: the address its members remember it by.
      const lanAddr = (n: LanNode, addrs: readonly string[]) =>
        addrs.find((a) => a.startsWith(`/ip4/${n.host.ip}/tcp/`))
      const before = [n0, n1].map((n) => lanAddr(n, n.ready.addrs))
      await Promise.all([n0.stop(), n1.stop()])
      const restartedAt = Date.now()
      const ready = await Promise.all([n0.start(['--no-mdns']), n1.start(['--no-mdns'])])
      ;[n0, n1].forEach((n, i) => {
        assert.ok(before[i], `${n.name} had no address on the LAN`)
        assert.equal(lanAddr(n, ready[i]!.addrs), before[i], `${n.name} listens elsewhere now`)
      })
      // So that finding each other again can only come from what they remembered.
      for (const n of [n0, n1]) assert.ok(!(await mdnsBound(lan!, n)), `${n.name} runs mDNS`)
      await Promise.all(
        [
          [n0, n1],
          [n1, n0],
        ].map(([a, b]) =>
          until(`${a!.name} to reconnect to ${b!.name}`, async () =>
            (await peerRow(a!, b!.id))?.connected === true ? true : undefined,
          ),
        ),
      )
      figure(`lan: restart with mDNS off→reconnected ${seconds(Date.now() - restartedAt)}`)
      await submitAndCommit(n0, [n0, n1], 'after the restart')
      figure(`lan: restart with mDNS off→an entry committed ${seconds(Date.now() - restartedAt)}`)
    },
  )
})
