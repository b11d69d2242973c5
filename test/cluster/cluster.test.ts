/**
 * Three `tally node` processes from one `tally testnet`, on loopback: the promises the product
 * makes when machines are unplugged, checked against real processes, real libp2p connections and
 * real SQLite files. The steps share one cluster and run in order, as an office would live them.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import type { BlockView, EntryView } from '../../core/api/types.ts'
import { encodeMessage } from '../../core/consensus/messages.ts'
import { keypairFromSeed } from '../../core/ledger/crypto.ts'
import { entryId } from '../../core/ledger/hashing.ts'
import { signEntry } from '../../core/ledger/signing.ts'
import { Net } from '../../core/net/host.ts'
import { ApiError, Cluster, until } from './harness.ts'
import { memberSeed } from './member-key.ts'

const FINAL = new Set(['committed', 'rejected'])

function transfer(n: number, memo = '') {
  return { from: '@bank', to: `acct${n % 7}`, asset: 'EUR', amount: n + 1, memo }
}

async function chain(c: Cluster, i: number): Promise<BlockView[]> {
  const { height } = await c.status(i)
  const out: BlockView[] = []
  for (let h = 1; h <= height; h++) out.push(await c.block(i, h))
  return out
}

/** Every acknowledged id is final at node i, exactly once in its chain. */
async function assertAllFinal(c: Cluster, i: number, ids: Iterable<string>): Promise<void> {
  const blocks = await chain(c, i)
  const seen = new Map<string, number>()
  for (const b of blocks) for (const e of b.entries) seen.set(e.id, (seen.get(e.id) ?? 0) + 1)
  for (const id of ids) {
    const e = await c.entry(i, id)
    assert.ok(FINAL.has(e.status), `entry ${id.slice(0, 8)} is ${e.status} at node${i}`)
    assert.equal(
      seen.get(id),
      1,
      `entry ${id.slice(0, 8)} appears ${seen.get(id) ?? 0} times in node${i}'s chain`,
    )
  }
}

async function assertSameChains(c: Cluster, nodes: readonly number[]): Promise<void> {
  const heights = await Promise.all(nodes.map(async (i) => (await c.status(i)).height))
  const top = Math.min(...heights)
  for (let h = 1; h <= top; h++) {
    const hashes = await Promise.all(nodes.map(async (i) => (await c.block(i, h)).hash))
    assert.equal(new Set(hashes).size, 1, `nodes ${nodes.join(',')} differ at height ${h}`)
  }
}

async function waitFinal(c: Cluster, nodes: readonly number[], ids: Iterable<string>, ms = 20_000) {
  const list = [...ids]
  await until(
    `${list.length} entries final on nodes ${nodes.join(',')}`,
    async () => {
      for (const i of nodes) {
        for (const id of list) {
          const e = await c.entry(i, id).catch((error: unknown) => {
            if (error instanceof ApiError && error.status === 404) return null
            throw error
          })
          if (e === null || !FINAL.has(e.status)) return undefined
        }
      }
      return true
    },
    ms,
    200,
  )
}

/** Submits every `everyMs` to the running nodes in turn; remembers what each acknowledged. */
function steadyLoad(c: Cluster, everyMs: number) {
  const acked = new Map<string, number>()
  let n = 0
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      const live = c.nodes.map((_, i) => i).filter((i) => c.running(i))
      const i = live[n % live.length]
      n++
      if (i !== undefined) {
        c.submit(i, transfer(n, `load ${n}`)).then(
          (r) => acked.set(r.id, i),
          () => {}, // a node killed mid-request acknowledged nothing
        )
      }
      await new Promise((r) => setTimeout(r, everyMs))
    }
  })()
  return {
    acked,
    stop: async () => {
      stopped = true
      await done
      await new Promise((r) => setTimeout(r, 200)) // answers in flight
    },
  }
}

describe('three tally node processes on loopback', { timeout: 600_000 }, () => {
  let c: Cluster

  before(async () => {
    c = Cluster.create({ nodes: 3, verbose: process.env.TALLY_VERBOSE === '1' })
    await c.startAll()
  })

  after(async () => {
    await c?.destroy()
  })

  it('commits entries submitted at different nodes in the same order on all three', async () => {
    const ids: string[] = []
    for (let n = 0; n < 30; n++) ids.push((await c.submit(n % 3, transfer(n))).id)
    await waitFinal(c, [0, 1, 2], ids)
    await assertSameChains(c, [0, 1, 2])
    const order = async (i: number) =>
      (await chain(c, i)).flatMap((b) => b.entries.map((e) => e.id))
    const [a, b, d] = await Promise.all([order(0), order(1), order(2)])
    assert.deepEqual(b, a)
    assert.deepEqual(d, a)
    for (const id of ids) assert.equal((await c.entry(1, id)).status, 'committed')
  })

  it('a node cut off from the others falls behind, and catches up when healed', async () => {
    const [id0, id1] = [c.ready(0).nodeId, c.ready(1).nodeId]
    await c.isolate(2, [id0, id1])
    await until('node2 disconnected', async () => {
      const s = await c.status(2)
      return s.online === 1 ? s : undefined
    })
    const before2 = (await c.status(2)).height
    const ids: string[] = []
    for (let n = 0; n < 10; n++) ids.push((await c.submit(n % 2, transfer(n, 'while cut off'))).id)
    await waitFinal(c, [0, 1], ids)
    assert.equal((await c.status(2)).height, before2, 'node2 committed while cut off')
    await c.isolate(2, [])
    await waitFinal(c, [2], ids)
    await assertSameChains(c, [0, 1, 2])
  })

  it('SIGKILL of one node under steady load: the other two keep committing, nothing is lost', async () => {
    const load = steadyLoad(c, 40)
    await new Promise((r) => setTimeout(r, 1_000))
    const heightAtKill = (await c.status(0)).height
    await c.kill(1)
    await new Promise((r) => setTimeout(r, 3_000))
    await load.stop()
    assert.ok((await c.status(0)).height > heightAtKill + 2, 'the survivors stopped committing')
    const byLive = [...load.acked].filter(([, i]) => i !== 1).map(([id]) => id)
    assert.ok(byLive.length > 50, `only ${byLive.length} entries were acknowledged`)
    await waitFinal(c, [0, 2], byLive)
    await assertAllFinal(c, 0, byLive)
    await assertAllFinal(c, 2, byLive)
    await assertSameChains(c, [0, 2])
    // What node1 acknowledged before it died is on its disk: the next step checks it.
    ackedByKilled = [...load.acked].filter(([, i]) => i === 1).map(([id]) => id)
  })

  let ackedByKilled: string[] = []

  it('the killed node restarts, catches up by block sync and votes again', async () => {
    await c.start(1)
    const target = (await c.status(0)).height
    await until('node1 caught up', async () =>
      (await c.status(1)).height >= target ? true : undefined,
    )
    const id1 = c.ready(1).nodeId
    const extra = [(await c.submit(0, transfer(1, 'after restart'))).id]
    await until('a commit signed by node1', async () => {
      const s = await c.status(0)
      for (let h = s.height; h > target; h--) {
        const b = await c.block(0, h)
        if (b.lastCommit?.signers.includes(id1) || b.commit.signers.includes(id1)) return true
      }
      extra.push((await c.submit(0, transfer(2, 'nudge'))).id)
      return undefined
    })
    await waitFinal(c, [0, 1, 2], [...ackedByKilled, ...extra])
    for (const i of [0, 1, 2]) await assertAllFinal(c, i, ackedByKilled)
    await assertSameChains(c, [0, 1, 2])
  })

  it('with two of three killed nothing commits and the survivor says so; a restart resumes with nothing lost', async () => {
    await c.kill(1)
    await c.kill(2)
    const s = await until('node0 sees it is alone', async () => {
      const st = await c.status(0)
      return st.online === 1 ? st : undefined
    })
    assert.deepEqual(
      { members: s.members, online: s.online, quorum: s.quorum, hasQuorum: s.hasQuorum },
      { members: 3, online: 1, quorum: 2, hasQuorum: false },
    )
    const height = s.height
    const ids: string[] = []
    for (let n = 0; n < 5; n++) {
      const r = await c.submit(0, transfer(n, 'no quorum'))
      assert.equal(r.status, 'submitted')
      ids.push(r.id)
    }
    await new Promise((r) => setTimeout(r, 2_000))
    assert.equal((await c.status(0)).height, height, 'a lone node committed')
    for (const id of ids) assert.ok(!FINAL.has((await c.entry(0, id)).status))
    await c.start(1)
    await waitFinal(c, [0, 1], ids)
    assert.equal((await c.status(0)).hasQuorum, true)
    await c.start(2)
    await waitFinal(c, [2], ids)
    await assertSameChains(c, [0, 1, 2])
  })

  it('a member sending garbage, oversized or badly signed gossip is rejected and penalised; the ledger carries on', async () => {
    const status = await c.status(0)
    // node2's machine turns hostile: the rogue runs under its key. A non-member's gossip is never
    // read at all (nonmember.test.ts); a member's is, so it must be judged and cost the sender.
    await c.kill(2)
    const seed = memberSeed(c.nodes[2]!.dir)
    const rogueId = c.nodes[2]!.id
    const rogue = await Net.start(
      {
        seed,
        ledger: status.ledger,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        peers: [c.ready(0).addrs.find((a) => a.includes('127.0.0.1'))!],
        mdns: false,
        pingIntervalMs: 2_000,
        pingTimeoutMs: 2_000,
        maxMessageBytes: 64 * 1024 * 1024,
        validate: () => 'accept',
        isMember: () => true,
      },
      { onGossip: () => {}, onDirect: () => {}, onPeer: () => {}, onAddrs: () => {} },
    )
    assert.equal(rogue.id, rogueId)
    const rogueAt0 = async () => (await c.peers(0)).peers.find((x) => x.id === rogueId)
    const kp = keypairFromSeed(seed)
    const entry = (nonce: number, o: { ledger?: string; memo?: string } = {}) =>
      signEntry(kp, {
        ledger: o.ledger ?? status.ledger,
        author: rogueId,
        nonce,
        time: Date.now(),
        body: {
          kind: 'transfer',
          from: '@bank',
          to: 'mallory',
          asset: 'EUR',
          amount: 1000n,
          memo: o.memo ?? '',
        },
      })
    // Each wrong on every node, whoever relays it: a signature that is not the author's, a body
    // changed under its signature, another ledger's entry, and one duly signed whose memo is
    // far over the bound (1 MiB where 280 characters are allowed).
    const signed = entry(1)
    const asNode1 = { ...signed.entry, author: c.nodes[1]!.id }
    const impersonating = { ...signed, entry: asNode1, id: entryId(asNode1) }
    const raised = { ...signed.entry, body: { ...signed.entry.body, amount: 1_000_000n } }
    const altered = { ...signed, entry: raised, id: entryId(raised) }
    const elsewhere = entry(2, { ledger: 'ab'.repeat(32) })
    const oversized = entry(3, { memo: 'x'.repeat(1024 * 1024) })
    const forged = [impersonating, altered, elsewhere, oversized]
    try {
      await until('the rogue connects', async () =>
        rogue.connected().length > 0 ? true : undefined,
      )
      // Before it misbehaves, node0 must list it, connected and not penalised: what follows then
      // shows that node0 saw the rogue and punished it, not merely that it never met it.
      await until('node0 lists the rogue as a connected peer in good standing', async () => {
        const p = await rogueAt0()
        return p?.connected === true && p.score !== null && p.score >= 0 ? true : undefined
      })
      // Subscriptions travel after the connection: until node0's arrive, a publish reaches no one.
      const garbage = new Uint8Array([0, 1, 2, 3, 4, 5])
      await until("node0 takes the rogue's gossip", async () =>
        (await rogue.publish('entries', garbage)) > 0 ? true : undefined,
      )
      // A gossip message over the node's bound cannot be sent through gossipsub at all (it
      // sends no RPC over 4 MiB); one whose length prefix says so is rogue.test.ts's case.
      for (const e of forged) {
        const to = await rogue.publish('entries', encodeMessage({ type: 'entries', entries: [e] }))
        assert.ok(to > 0, `the rogue's ${e.id.slice(0, 8)} reached no one`)
      }
      // Penalised: a negative score, or cut off (a peer once met stays listed, disconnected).
      // A rogue missing from the list would be a regression of its own, not a penalty.
      await until(
        'node0 penalises the rogue',
        async () => {
          const p = await rogueAt0()
          assert.ok(p !== undefined, 'node0 no longer lists the rogue it had listed')
          return (p.score !== null && p.score < 0) || !p.connected ? true : undefined
        },
        10_000,
      )
    } finally {
      await rogue.stop()
    }
    // node2 comes back as itself: the ledger carries on with all three, none of it forged.
    await c.start(2)
    const id = (await c.submit(0, transfer(5, 'after the rogue'))).id
    await waitFinal(c, [0, 1, 2], [id])
    for (const i of [0, 1, 2]) {
      for (const e of forged) {
        const stored = await c.entry(i, e.id).catch(() => null)
        assert.equal(stored, null, `node${i} stored the rogue's ${e.id.slice(0, 8)}`)
      }
    }
    await assertSameChains(c, [0, 1, 2])
  })

  it('answers bad requests with 4xx and a message, and without the token with 401 alone', async () => {
    const r = c.ready(0)
    const noToken = await fetch(`${r.api}/api/status`)
    assert.equal(noToken.status, 401)
    // A request target no URL can be made of must get an answer, not crash the node.
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(new URL(r.api).port), '127.0.0.1', () => {
        sock.end('GET //[ HTTP/1.1\r\nHost: x\r\n\r\n')
      })
      let text = ''
      sock.on('data', (d) => {
        text += String(d)
      })
      sock.on('end', () => resolve(text))
      sock.on('error', reject)
    })
    assert.match(raw, /^HTTP\/1\.1 400/)
    assert.equal((await c.status(0)).nodeId, r.nodeId)
    const cases: [unknown, RegExp][] = [
      [{ from: '@bank', to: 'a', asset: 'EUR', amount: 1.5 }, /amount/],
      [{ from: '@bank', to: 'a', asset: 'EUR', amount: -3 }, /amount/],
      [{ from: '@bank', to: 'a', asset: 'eur', amount: 3 }, /asset/],
      [{ from: '@bank', to: 'a', asset: 'EUR', amount: 3, extra: 1 }, /unknown field/],
      [{ from: 'a', to: 'a', asset: 'EUR', amount: 3 }, /same account/],
    ]
    const before = (await c.call<{ entries: EntryView[] }>(0, 'GET', '/api/entries?limit=500'))
      .entries.length
    for (const [body, message] of cases) {
      await assert.rejects(c.call(0, 'POST', '/api/entries', body), (e: unknown) => {
        assert.ok(e instanceof ApiError && e.status === 400, String(e))
        assert.match(e.message, message)
        return true
      })
    }
    const afterCount = (await c.call<{ entries: EntryView[] }>(0, 'GET', '/api/entries?limit=500'))
      .entries.length
    assert.equal(afterCount, before)
    await assert.rejects(
      c.call(0, 'GET', '/api/entries/xyz'),
      (e: unknown) => e instanceof ApiError && e.status === 400,
    )
    await assert.rejects(
      c.call(0, 'GET', `/api/entries/${'0'.repeat(64)}`),
      (e: unknown) => e instanceof ApiError && e.status === 404,
    )
  })
})
