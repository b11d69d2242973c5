/**
 * A hostile peer against one Net, in this process: what it can make the Net hold is bounded per
 * peer, and each kind of abuse costs it score or its connection. The rogue is plain libp2p
 * (rogue.ts), so it sends what no Tally node would. Memory under the same attacks, measured on a
 * real `tally node` process, is in test/cluster/rogue.test.ts.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { directProtocol } from '../../../core/net/gossip.ts'
import { peerIdFromNodeId } from '../../../core/net/index.ts'
import {
  bytes,
  gossipReady,
  LEDGER,
  type Started,
  sleep,
  start,
  stopAll,
  until,
} from './helpers.ts'
import {
  floodDirect,
  GOSSIP_PROTOCOLS,
  oversizedMuxerFrame,
  oversizedRpc,
  type Rogue,
  startRogue,
  trickleDirect,
} from './rogue.ts'

const MIB = 1024 * 1024
const rogues: Rogue[] = []
after(async () => {
  await Promise.all(rogues.map((r) => r.stop()))
  await stopAll()
})

async function rogue(): Promise<Rogue> {
  const r = await startRogue()
  rogues.push(r)
  return r
}

function scoreAt(victim: Started, id: string): number {
  return victim.net.health().find((h) => h.id === id)?.score ?? 0
}

/** Samples `read` every few ms while `work` runs; the largest value seen. */
async function peakWhile(read: () => number, work: Promise<unknown>): Promise<number> {
  let peak = read()
  let done = false
  void work.finally(() => {
    done = true
  })
  while (!done) {
    peak = Math.max(peak, read())
    await sleep(2)
  }
  await work
  return Math.max(peak, read())
}

describe('a hostile peer', () => {
  it('holds at most one unfinished direct frame at the victim, over all its streams and connections, and is penalised past it', async () => {
    const victim = await start(60, { maxMessageBytes: MIB })
    const r = await rogue()
    const addr = victim.net.addrs()[0]!
    const connections = [await r.connect(addr), await r.connect(addr)]
    await until('the victim sees the rogue', () => victim.net.connected().includes(r.id))
    const attack = Promise.all(
      connections.map((c) =>
        trickleDirect(c, directProtocol(LEDGER), {
          streams: 4,
          declared: MIB,
          perStream: 900 * 1024,
          chunkBytes: 64 * 1024,
          pauseMs: 1,
        }),
      ),
    )
    const peak = await peakWhile(() => victim.net.heldDirectBytes(), attack)
    const results = await attack
    const sentBytes = results.reduce((n, s) => n + s.bytes, 0)
    assert.ok(peak <= MIB + 4, `the victim held ${peak} bytes of unfinished frames`)
    assert.ok(peak > 0, 'the rogue got nothing held at all: the attack did not run')
    assert.ok(sentBytes > MIB + 4, `the rogue tried more than one frame's worth (${sentBytes})`)
    await until('the victim penalises the rogue', () => scoreAt(victim, r.id) < 0)
    assert.equal(victim.rec.direct.length, 0, 'no unfinished frame was delivered')
  })

  it('sending a gossip RPC over the bound is refused at its length prefix, penalised and cut off', async () => {
    const victim = await start(61, { maxMessageBytes: 64 * 1024 })
    const r = await rogue()
    const connection = await r.connect(victim.net.addrs()[0]!)
    await until('the victim sees the rogue', () => victim.net.connected().includes(r.id))
    const result = await oversizedRpc(connection, 64 * MIB, 8 * MIB)
    assert.equal(result.opened, 1)
    await until('the victim hangs up on the rogue', () =>
      victim.rec.peers.some((p) => p.id === r.id && !p.connected),
    )
    assert.ok(scoreAt(victim, r.id) < 0, `score ${scoreAt(victim, r.id)}`)
  })

  it('a flood of direct frames past the rate bound is cut off and penalised', async () => {
    const victim = await start(62)
    const r = await rogue()
    const connection = await r.connect(victim.net.addrs()[0]!)
    await until('the victim sees the rogue', () => victim.net.connected().includes(r.id))
    await floodDirect(
      connection,
      directProtocol(LEDGER),
      new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0, 1]),
      20_000,
    )
    await until('the victim penalises the rogue', () => scoreAt(victim, r.id) < 0)
    const got = victim.rec.direct.filter((d) => d.from === r.id).length
    assert.ok(got < 20_000, `the victim took all ${got} frames`)
    assert.ok(got >= 200, `the victim took fewer frames (${got}) than its burst allows`)
  })

  it('a yamux frame longer than the stream window closes the connection before it is buffered, and is penalised', async () => {
    const victim = await start(63)
    const r = await rogue()
    const connection = await r.connect(victim.net.addrs()[0]!)
    await until('the victim sees the rogue', () => victim.net.connected().includes(r.id))
    await oversizedMuxerFrame(connection, 0xf000_0000, 16 * MIB)
    await until('the victim drops the rogue', () =>
      victim.rec.peers.some((p) => p.id === r.id && !p.connected),
    )
    // Without the guard yamux would buffer the frame until pings failed behind it, unpenalised.
    assert.ok(scoreAt(victim, r.id) < 0, `score ${scoreAt(victim, r.id)}`)
  })

  it('a third connection from the same peer is refused', async () => {
    const victim = await start(64)
    const r = await rogue()
    const addr = victim.net.addrs()[0]!
    const victimPeer = peerIdFromNodeId(victim.net.id)
    for (let i = 0; i < 4; i++) await r.connect(addr).catch(() => null)
    await sleep(300)
    const open = r.node.getConnections(victimPeer).filter((c) => c.status === 'open')
    assert.ok(open.length >= 1 && open.length <= 2, `${open.length} connections are open`)
  })

  it('gossip is bounded by maxGossipBytes, exactly that much passes, and direct frames keep maxMessageBytes', async () => {
    const limits = { maxMessageBytes: 64 * 1024, maxGossipBytes: 4096 }
    const b = await start(66, limits)
    const a = await start(65, { ...limits, peers: b.net.addrs() })
    await gossipReady([a, b])
    assert.equal(await a.net.publish('entries', bytes('full/', 4096)), 1)
    await assert.rejects(a.net.publish('entries', new Uint8Array(4097)), RangeError)
    assert.equal(a.net.send(b.net.id, bytes('direct/', 8192)), true)
    await until(
      'both arrive',
      () => b.rec.gossipWith('full/').length === 1 && b.rec.direct.length === 1,
    )
    assert.equal(b.rec.gossipWith('full/')[0]!.data.length, 4096)
  })

  it('gossip takes one stream per connection, in the newest protocol only', async () => {
    const victim = await start(67)
    const r = await rogue()
    const connection = await r.connect(victim.net.addrs()[0]!)
    await until('the victim sees the rogue', () => victim.net.connected().includes(r.id))
    for (const old of GOSSIP_PROTOCOLS.slice(1)) {
      await assert.rejects(connection.newStream([old]), `${old} is refused`)
    }
    const first = await connection.newStream([GOSSIP_PROTOCOLS[0]!])
    const second = await connection.newStream([GOSSIP_PROTOCOLS[0]!])
    await until('the victim resets the second stream', () => second.status !== 'open')
    assert.equal(first.status, 'open')
  })
})
