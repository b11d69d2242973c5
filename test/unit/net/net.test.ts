/**
 * core/net against real libp2p nodes in this process (one child process for SIGKILL), all on
 * 127.0.0.1 with static peers. mDNS stays off: tests never multicast on this machine's network.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { keypairFromSeed } from '../../../core/ledger/crypto.ts'
import { toHex } from '../../../core/ledger/hex.ts'
import { nodeIdFromPeerId, peerIdFromNodeId } from '../../../core/net/index.ts'
import { bytes, gossipReady, LEDGER, seed, sleep, start, stop, stopAll, until } from './helpers.ts'

after(stopAll)

const NODE_ID = /^[0-9a-f]{64}$/

describe('keys', () => {
  it('a NodeId and its PeerId convert both ways, and match the ledger key of the same seed', async () => {
    const ledgerId = keypairFromSeed(seed(41)).id
    const peer = peerIdFromNodeId(ledgerId)
    assert.equal(peer.type, 'Ed25519')
    assert.equal(nodeIdFromPeerId(peer), ledgerId)

    const { net } = await start(41)
    assert.equal(net.id, ledgerId)
    assert.ok(net.addrs()[0]?.endsWith(`/p2p/${peer.toString()}`), net.addrs().join(' '))
    await stop(net)
  })

  it('a non-ed25519 PeerId has no NodeId, and a malformed NodeId has no PeerId', async () => {
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1'))
    assert.equal(nodeIdFromPeerId(secp), null)
    assert.throws(() => peerIdFromNodeId('AB'.repeat(32)))
    assert.throws(() => peerIdFromNodeId('ab'.repeat(31)))
  })
})

describe('gossip', () => {
  it('three nodes from static peers connect, and each publish arrives once at each other node, a re-send too', async () => {
    const a = await start(1)
    const b = await start(2, { peers: a.net.addrs() })
    const c = await start(3, { peers: [...a.net.addrs(), ...b.net.addrs()] })
    const all = [a, b, c]
    await until('full mesh of connections', () => all.every((n) => n.net.connected().length === 2))
    await gossipReady(all)

    const recipients = await b.net.publish('consensus', bytes('vote/1'))
    assert.equal(recipients, 2)
    for (const n of [a, c]) await until('delivery', () => n.rec.gossipWith('vote/').length > 0)
    // Consensus re-sends its votes as they are: the same bytes again must travel again (once).
    assert.equal(await b.net.publish('consensus', bytes('vote/1')), 2)
    for (const n of [a, c]) await until('re-send', () => n.rec.gossipWith('vote/').length > 1)
    await sleep(300) // time for any relayed duplicate to arrive
    assert.equal(b.rec.gossipWith('vote/').length, 0, 'no echo to the publisher')
    for (const n of [a, c]) {
      const got = n.rec.gossipWith('vote/')
      assert.equal(got.length, 2)
      assert.equal(got[0]!.topic, 'consensus')
      assert.match(got[0]!.from, NODE_ID)
      assert.ok([b.net.id, a.net.id, c.net.id].includes(got[0]!.from))
      assert.notEqual(got[0]!.from, n.net.id)
    }
    await Promise.all(all.map((n) => stop(n.net)))
  })

  it('a message the validator rejects is neither delivered nor forwarded, and costs its sender score', async () => {
    const calls: string[] = []
    // a - b - c in a line: c hears a's gossip only if b forwards it.
    const b = await start(5, {
      validate: (_topic, data, from) => {
        calls.push(from)
        return data[0] === 0xff ? 'reject' : 'accept'
      },
    })
    const a = await start(4, { peers: b.net.addrs() })
    const c = await start(6, { peers: b.net.addrs() })
    await until('a and c connect to b', () => b.net.connected().length === 2)
    await gossipReady([a, b])
    await gossipReady([b, c])
    assert.equal(a.net.connected().length, 1, 'a and c are not connected directly')
    const scoreOfA = () => b.net.health().find((h) => h.id === a.net.id)!.score

    const garbage = ['?junk-1', '?junk-2'].map((text) => {
      const g = bytes(text)
      g[0] = 0xff
      return g
    })
    for (const g of garbage) await a.net.publish('entries', g)
    await a.net.publish('entries', bytes('good/after-garbage'))
    await until('the good message crosses b', () => c.rec.gossipWith('good/').length === 1)
    await sleep(200)

    const isGarbage = (d: Uint8Array) => d[0] === 0xff
    assert.equal(b.rec.gossip.filter((g) => isGarbage(g.data)).length, 0, 'b delivered garbage')
    assert.equal(c.rec.gossip.filter((g) => isGarbage(g.data)).length, 0, 'b forwarded garbage')
    assert.equal(b.rec.gossipWith('good/').length, 1)
    assert.equal(calls.filter((id) => id === a.net.id).length >= 3, true)
    await until('a has a negative score at b', () => scoreOfA() < 0, 3000)
    await Promise.all([a, b, c].map((n) => stop(n.net)))
  })

  it('gossip and direct frames over maxMessageBytes are refused and penalise the sender', async () => {
    let validated = 0
    const b = await start(8, {
      maxMessageBytes: 4096,
      validate: () => {
        validated++
        return 'accept'
      },
    })
    const a = await start(7, { peers: b.net.addrs(), maxMessageBytes: 64 * 1024 })
    await gossipReady([a, b])
    const seen = validated
    const scoreOfA = () => b.net.health().find((h) => h.id === a.net.id)!.score
    assert.ok(scoreOfA() >= 0)

    assert.equal(await a.net.publish('entries', bytes('big/gossip', 8192)), 1)
    assert.equal(a.net.send(b.net.id, bytes('big/direct', 8192)), true)
    await a.net.publish('entries', bytes('small/after'))
    await until('the small message arrives', () => b.rec.gossipWith('small/').length === 1)
    await sleep(200)

    assert.equal(b.rec.gossipWith('big/').length, 0)
    assert.equal(b.rec.direct.length, 0)
    assert.equal(validated, seen + 1, 'the oversized gossip never reached the validator')
    // Gossip rejection (P4) plus the application penalty for the direct frame.
    await until('a has a negative score at b', () => scoreOfA() < -10, 3000)

    await assert.rejects(a.net.publish('entries', new Uint8Array(64 * 1024 + 1)), RangeError)
    assert.throws(() => a.net.send(b.net.id, new Uint8Array(64 * 1024 + 1)), RangeError)
    await Promise.all([a, b].map((n) => stop(n.net)))
  })

  it('publish takes no more than gossipsub can send (4 MiB an RPC), and exactly that much arrives', async () => {
    const MIB = 1024 * 1024
    const limits = { maxMessageBytes: 32 * MIB, maxGossipBytes: 16 * MIB }
    const b = await start(32, limits)
    const a = await start(31, { ...limits, peers: b.net.addrs() })
    await gossipReady([a, b])
    const max = a.net.maxPublishBytes
    assert.ok(max < 4 * MIB && max > 3.9 * MIB, `maxPublishBytes ${max}`)
    // Over it, gossipsub would drop the RPC without a word: publish refuses instead.
    await assert.rejects(a.net.publish('consensus', new Uint8Array(max + 1)), RangeError)
    assert.equal(await a.net.publish('consensus', bytes('max/', max)), 1)
    await until('the largest message arrives', () => b.rec.gossipWith('max/').length === 1, 10_000)
    assert.equal(b.rec.gossipWith('max/')[0]!.data.length, max)
    await Promise.all([a, b].map((n) => stop(n.net)))
  })
})

describe('direct', () => {
  it('frames arrive in order and intact, a 1 MiB frame among them', async () => {
    const a = await start(9)
    const b = await start(10, { peers: a.net.addrs() })
    await until('connected', () => b.net.connected().includes(a.net.id))

    const frames: Uint8Array[] = []
    for (let i = 0; i < 200; i++) {
      const size = i === 100 ? 1024 * 1024 : (i * 7919) % 5000
      const frame = new Uint8Array(size)
      for (let j = 0; j < size; j++) frame[j] = (i * 31 + j * 7) & 0xff
      frames.push(frame)
    }
    for (const f of frames) assert.equal(b.net.send(a.net.id, f), true)
    await until('all frames arrive', () => a.rec.direct.length === frames.length)
    a.rec.direct.forEach((got, i) => {
      assert.equal(got.from, b.net.id)
      assert.deepEqual(got.data, frames[i], `frame ${i}`)
    })
    assert.equal(a.rec.direct[100]!.data.length, 1024 * 1024)
    await Promise.all([a, b].map((n) => stop(n.net)))
  })

  it('send returns false for a peer that is not connected', async () => {
    const a = await start(11)
    assert.equal(a.net.send(keypairFromSeed(seed(99)).id, bytes('hello')), false)
    assert.equal(a.net.send('not-a-node-id', bytes('hello')), false)
    await stop(a.net)
  })
})

describe('peers', () => {
  it('onPeer(false) fires promptly when a peer stops', async (t) => {
    const a = await start(12)
    const b = await start(13, { peers: a.net.addrs() })
    await until('connected', () => a.rec.lastPeerEvent(b.net.id) === true)
    const stopped = Date.now()
    await stop(b.net)
    await until('a sees b go', () => a.rec.lastPeerEvent(b.net.id) === false, 1000)
    const seen = a.rec.peers.findLast((e) => e.id === b.net.id)!.at - stopped
    t.diagnostic(`noticed after ${seen} ms`)
    assert.ok(seen < 500, `noticed after ${seen} ms`)
    const health = a.net.health().find((h) => h.id === b.net.id)!
    assert.equal(health.connected, false)
    assert.ok(health.since !== null && health.since >= stopped)
    await stop(a.net)
  })

  it('onPeer(false) fires within tens of milliseconds when the peer process is SIGKILLed', async (t) => {
    const a = await start(14)
    const childSeed = seed(15)
    const childId = keypairFromSeed(childSeed).id
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'peer-process.ts'),
        toHex(childSeed),
        LEDGER,
        a.net.addrs()[0]!,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    try {
      await until('the child connects', () => a.rec.lastPeerEvent(childId) === true, 15000)
      const killed = Date.now()
      child.kill('SIGKILL')
      await until('a sees the child go', () => a.rec.lastPeerEvent(childId) === false, 2000)
      const seen = a.rec.peers.findLast((e) => e.id === childId)!.at - killed
      t.diagnostic(`noticed after ${seen} ms`)
      assert.ok(seen < 300, `noticed after ${seen} ms`)
    } finally {
      child.kill('SIGKILL')
      await stop(a.net)
    }
  })

  it('a static peer that restarts on the same port with the same key is redialled', async (t) => {
    const b1 = await start(17)
    const addr = b1.net.addrs()[0]!
    const a = await start(16, { peers: [addr] })
    await until('connected', () => a.rec.lastPeerEvent(b1.net.id) === true)
    await stop(b1.net)
    await until('a sees b go', () => a.rec.lastPeerEvent(b1.net.id) === false)
    await sleep(300)

    // b2 knows no peers: only a's redial can bring them together again.
    const listen = addr.slice(0, addr.indexOf('/p2p/'))
    const b2 = await start(17, { listen: [listen] })
    const took = await until('a redials b', () => a.rec.lastPeerEvent(b2.net.id) === true, 8000)
    await until('b2 sees a', () => b2.rec.lastPeerEvent(a.net.id) === true)
    t.diagnostic(`reconnected ${took} ms after the restart`)
    assert.ok(took < 6000, `reconnected after ${took} ms`)
    await Promise.all([a, b2].map((n) => stop(n.net)))
  })

  it('isolate() disconnects and refuses a peer; isolate([]) heals and they reconnect', async () => {
    const b = await start(19)
    const a = await start(18, { peers: b.net.addrs() })
    await until('connected', () => a.rec.lastPeerEvent(b.net.id) === true)
    const aAddr = a.net.addrs()[0]!

    a.net.isolate([b.net.id])
    await until('both see the cut', () => {
      return a.rec.lastPeerEvent(b.net.id) === false && b.rec.lastPeerEvent(a.net.id) === false
    })
    const cut = Date.now()
    // b may complete its half of a handshake that a then refuses, so b's dial may resolve.
    await b.net.dial(aAddr).catch(() => {})
    await sleep(1500) // longer than a's first redial
    assert.equal(a.rec.peers.filter((e) => e.at > cut && e.connected).length, 0, 'a let b in')
    assert.deepEqual(a.net.connected(), [])

    // The isolating side does not even dial.
    b.net.isolate([a.net.id])
    await assert.rejects(b.net.dial(aAddr))
    b.net.isolate([])

    a.net.isolate([])
    await until('they reconnect', () => a.net.connected().includes(b.net.id), 3000)
    await gossipReady([a, b])
    await Promise.all([a, b].map((n) => stop(n.net)))
  })

  it('a peer penalised again and again is disconnected and refused for a while', async () => {
    const b = await start(21)
    const a = await start(20, { peers: b.net.addrs() })
    await until('connected', () => a.rec.lastPeerEvent(b.net.id) === true)
    for (let i = 0; i < 4; i++) a.net.penalise(b.net.id, 'test offence')
    await sleep(100)
    assert.equal(a.rec.lastPeerEvent(b.net.id), true, 'four offences are tolerated')
    const health = a.net.health().find((h) => h.id === b.net.id)!
    assert.ok(health.score <= -30, `score ${health.score}`)

    a.net.penalise(b.net.id, 'test offence')
    await until('a drops b', () => a.rec.lastPeerEvent(b.net.id) === false)
    const dropped = Date.now()
    await b.net.dial(a.net.addrs()[0]!).catch(() => {})
    await sleep(1200) // past a's first redial: still banned
    assert.equal(a.rec.peers.filter((e) => e.at > dropped && e.connected).length, 0, 'a let b in')
    assert.deepEqual(a.net.connected(), [])
    await Promise.all([a, b].map((n) => stop(n.net)))
  })

  it('start rejects a port already in use, and a ledger id that is not hex', async () => {
    const a = await start(24)
    const addr = a.net.addrs()[0]!
    await assert.rejects(start(25, { listen: [addr.slice(0, addr.indexOf('/p2p/'))] }))
    await assert.rejects(start(25, { ledger: '../other' }), /not hex/)
    await stop(a.net)
  })

  it('health lists configured peers before they ever connect, and latency once pinged', async () => {
    const ghost = keypairFromSeed(seed(98)).id
    const ghostAddr = `/ip4/127.0.0.1/tcp/1/p2p/${peerIdFromNodeId(ghost).toString()}`
    const b = await start(23)
    const a = await start(22, { peers: [ghostAddr, ...b.net.addrs()], pingIntervalMs: 200 })
    const entry = a.net.health().find((h) => h.id === ghost)!
    assert.deepEqual(
      { connected: entry.connected, since: entry.since, lastMessage: entry.lastMessage },
      { connected: false, since: null, lastMessage: null },
    )
    assert.deepEqual(entry.addrs, [ghostAddr])
    await until('b latency measured', () => {
      const h = a.net.health().find((x) => x.id === b.net.id)
      return h?.connected === true && h.latencyMs !== null
    })
    await Promise.all([a, b].map((n) => stop(n.net)))
  })
})
