/**
 * Machines that start with empty data folders make a ledger together through the API, as office
 * staff would, on loopback and without mDNS (an address typed by hand): one creates, the others
 * ask, a member approves or denies; then the members are restarted all at once and must find
 * each other again at the ports they remembered. The LAN test (test/lan) does the same with mDNS
 * in network namespaces, where those can be made.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type {
  JoinRequestView,
  SetupView,
  StatusView,
  SubmitResponse,
} from '../../core/api/types.ts'
import { ApiError, Cluster, until } from './harness.ts'

describe('joining a ledger from an empty data folder', { timeout: 240_000 }, () => {
  let c: Cluster
  const setup = (i: number) => c.call<SetupView>(i, 'GET', '/api/setup')
  const requests = async (i: number) =>
    (await c.call<{ requests: JoinRequestView[] }>(i, 'GET', '/api/join-requests')).requests
  let n = 0
  /** Where node1 listened before it was stopped. */
  let addr1 = ''
  const transfer = (i: number) =>
    c.submit(i, { from: '@bank', to: `desk${i}`, asset: 'EUR', amount: ++n, memo: `join ${n}` })
  const committedEverywhere = (nodes: readonly number[], id: string) =>
    until(`entry ${id.slice(0, 8)} committed on ${nodes.join(', ')}`, async () => {
      for (const i of nodes) {
        const e = await c.entry(i, id).catch(() => null)
        if (e?.status !== 'committed') return undefined
      }
      return true
    })

  before(async () => {
    c = Cluster.blank({ nodes: 5 })
    await Promise.all([0, 1, 2].map((i) => c.start(i)))
  })
  after(async () => {
    await c?.destroy()
  })

  it('a machine without a ledger stores nothing and says how to get one', async () => {
    const s = await setup(0)
    assert.equal(s.state, 'no-ledger')
    assert.match(s.machine.shortId, /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/)
    const refused = await c.status(0).catch((e: unknown) => e)
    assert.ok(refused instanceof ApiError && refused.status === 409, String(refused))
    assert.match(refused.message, /no ledger yet: create one .* or ask to join one/)
  })

  it('creating a ledger makes this machine its only member, and it commits alone', async () => {
    const s = await c.call<SetupView>(0, 'POST', '/api/ledger', { name: 'Office' })
    assert.equal(s.state, 'member')
    const status = await c.status(0)
    assert.equal(status.ledgerName, 'Office')
    assert.equal(status.members, 1)
    const r = await transfer(0)
    await committedEverywhere([0], r.id)
  })

  it('a machine asks to join by address; the member lists it with the id it shows', async () => {
    const member = await setup(0)
    assert.equal(member.state, 'member')
    const addr = member.machine.addrs[0]!
    const joined = await c.call<SetupView>(1, 'POST', '/api/join', { addr })
    assert.equal(joined.state, 'joining')
    const asking = await setup(1)
    const listed = await until('node0 lists node1', async () =>
      (await requests(0)).find((r) => r.id === asking.machine.nodeId),
    )
    assert.equal(listed.shortId, asking.machine.shortId)
    assert.equal(listed.name, 'desk1')
    await until('node1 is told its request is pending', async () => {
      const s = await setup(1)
      return s.state === 'joining' && s.joining.status === 'pending' ? true : undefined
    })
    // Still nothing of the ledger for it.
    const refused = await c.status(1).catch((e: unknown) => e)
    assert.ok(refused instanceof ApiError && refused.status === 409)
  })

  it('a denied machine is told so and is not listed again', async () => {
    const addr = (await setup(0)).machine.addrs[0]!
    await c.call<SetupView>(2, 'POST', '/api/join', { addr })
    const id = (await setup(2)).machine.nodeId
    await until('node0 lists node2', async () =>
      (await requests(0)).some((r) => r.id === id) ? true : undefined,
    )
    await c.call(0, 'POST', `/api/join-requests/${id}/deny`)
    await until('node2 learns it was denied', async () => {
      const s = await setup(2)
      return s.state !== 'member' && s.joining?.status === 'denied' ? true : undefined
    })
    assert.equal((await setup(2)).state, 'no-ledger')
    // It asks again: still denied, and the member's list stays without it.
    await c.call<SetupView>(2, 'POST', '/api/join', { addr })
    await new Promise((r) => setTimeout(r, 2_500))
    assert.ok(!(await requests(0)).some((r) => r.id === id))
  })

  it('an approved machine fetches the ledger, becomes a member and votes', async () => {
    const id = (await setup(1)).machine.nodeId
    const approval = await c.call<SubmitResponse>(0, 'POST', `/api/join-requests/${id}/approve`)
    await committedEverywhere([0], approval.id)
    await until('node1 runs the ledger', async () =>
      (await setup(1)).state === 'member' ? true : undefined,
    )
    await until('node1 has every block of node0', async () => {
      const [a, b] = await Promise.all([c.status(0), c.status(1)])
      return b.members === 2 && b.height >= a.height - 1 ? true : undefined
    })
    // Both must vote now: with two members, nothing commits without node1's precommit.
    const r = await transfer(1)
    await committedEverywhere([0, 1], r.id)
    const peers = (await c.peers(0)).peers
    const p1 = peers.find((p) => p.id === id)
    assert.ok(p1?.member && p1.connected, 'node0 lists node1 as a connected member')
    assert.equal((await requests(0)).length, 0, 'the decided request is gone')
  })

  it('a removal that would leave too few members online is refused with the reason', async () => {
    const s0 = await setup(0)
    addr1 = c.ready(1).addrs[0]!
    await c.kill(1, 'SIGTERM')
    await until('node0 sees node1 gone', async () => {
      const st: StatusView = await c.status(0)
      return st.online === 1 ? true : undefined
    })
    // Removing node0 would leave node1 alone, and node1 is offline.
    const refused = await c
      .call(0, 'POST', `/api/members/${s0.machine.nodeId}/remove`)
      .catch((e: unknown) => e)
    assert.ok(refused instanceof ApiError && refused.status === 409, String(refused))
    assert.match(refused.message, /would leave 0 of 1 members online/)
    assert.equal((await c.status(0)).members, 2, 'nothing changed')
  })

  it('after all members restart with mDNS off, they find each other at remembered ports and commit', async () => {
    const before0 = c.ready(0).addrs[0]!
    await c.kill(0, 'SIGTERM')
    await Promise.all([c.start(0), c.start(1)])
    assert.equal(c.ready(0).addrs[0], before0, 'node0 listens where it did')
    assert.equal(c.ready(1).addrs[0], addr1, 'node1 listens where it did')
    await until('both members online again', async () =>
      (await c.status(0)).online === 2 ? true : undefined,
    )
    const r = await transfer(0)
    await committedEverywhere([0, 1], r.id)
  })

  it('a machine joins through a member added after the genesis while the genesis member is down, and fetches the ledger from the others', async () => {
    await c.kill(2)
    await c.start(3)
    const id3 = (await setup(3)).machine.nodeId
    await c.call(3, 'POST', '/api/join', { addr: (await setup(0)).machine.addrs[0] })
    await until('node0 lists node3', async () =>
      (await requests(0)).some((r) => r.id === id3) ? true : undefined,
    )
    await c.call(0, 'POST', `/api/join-requests/${id3}/approve`)
    await until('three members, in force', async () =>
      (await c.status(0)).members === 3 && (await setup(3)).state === 'member' ? true : undefined,
    )
    // node4 knows only the genesis, whose one member is now down: it must fetch every block
    // from node1 and node3, which its own height does not know as members yet.
    await c.kill(0, 'SIGTERM')
    await c.start(4)
    const id4 = (await setup(4)).machine.nodeId
    await c.call(4, 'POST', '/api/join', { addr: (await setup(1)).machine.addrs[0] })
    await until('node1 lists node4', async () =>
      (await requests(1)).some((r) => r.id === id4) ? true : undefined,
    )
    await c.call(1, 'POST', `/api/join-requests/${id4}/approve`)
    await until('node4 holds the ledger as far as node1', async () => {
      if ((await setup(4)).state !== 'member') return undefined
      const [a, b] = await Promise.all([c.status(1), c.status(4)])
      return b.members === 4 && b.height >= a.height - 1 ? true : undefined
    })
    // With four members and node0 down, nothing commits without node4's vote.
    const r = await transfer(4)
    await committedEverywhere([1, 3, 4], r.id)
  })

  it('a removed member is forgotten: after the others restart it gets nothing of the ledger', async () => {
    const id4 = (await setup(4)).machine.nodeId
    const removal = await c.call<SubmitResponse>(1, 'POST', `/api/members/${id4}/remove`)
    await committedEverywhere([1, 3], removal.id)
    await until('the removal is in force', async () =>
      (await c.status(1)).members === 3 ? true : undefined,
    )
    // node4 keeps running and keeps dialling them: it must learn nothing more.
    await Promise.all([c.kill(1, 'SIGTERM'), c.kill(3, 'SIGTERM')])
    await Promise.all([c.start(1), c.start(3)])
    const r = await transfer(1)
    await committedEverywhere([1, 3], r.id)
    const height = (await c.entry(1, r.id)).height!
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    const at4 = await c.status(4)
    assert.ok(at4.height < height, `node4 reached height ${at4.height}, the entry is at ${height}`)
    const p4 = (await c.peers(1)).peers.find((p) => p.id === id4)
    assert.ok(p4 === undefined || !p4.member, 'node1 still counts node4 as a member')
  })
})
