/**
 * A ledger only its members see, at the network layer: real libp2p nodes on 127.0.0.1. A member
 * and a non-member connect to the same node; only the member's gossip and direct frames get in or
 * out, and the non-member can only use the join protocol.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { generateKeypair, keypairFromSeed } from '../../../core/ledger/crypto.ts'
import { Finder } from '../../../core/net/finder.ts'
import {
  decodeJoinAnswer,
  decodeJoinRequest,
  encodeJoin,
  JoinProtocolError,
  MAX_JOIN_REQUEST_BYTES,
} from '../../../core/net/join.ts'
import { Redialer } from '../../../core/net/redial.ts'
import { bytes, LEDGER, seed, sleep, start, stopAll, until } from './helpers.ts'

after(stopAll)

const body = (frame: Uint8Array) => frame.subarray(4)

describe('members only', () => {
  it('a non-member gets no gossip and no direct frame, and what it sends is never delivered', async () => {
    const ids = [1, 2, 3].map((n) => keypairFromSeed(seed(n)).id)
    const members = new Set([ids[0]!, ids[1]!])
    const isMember = (id: string) => members.has(id)
    const a = await start(1, { isMember })
    const addr = a.net.addrs()[0]!
    const b = await start(2, { isMember, peers: [addr] })
    // The outsider thinks everyone is a member: it subscribes, publishes and sends like one.
    const outsider = await start(3, { isMember: () => true, peers: [addr] })
    await until('both connected to a', () => a.net.connected().length === 2)
    await until('b hears a', () => {
      void a.net.publish('entries', bytes(`hello/${Date.now()}`))
      return b.rec.gossip.length > 0
    })
    for (let i = 0; i < 20; i++) {
      await a.net.publish('entries', bytes(`secret/${i}`))
      await a.net.publish('consensus', bytes(`vote/${i}`))
      a.net.send(ids[2]!, bytes(`direct/${i}`))
      await outsider.net.publish('entries', bytes(`forged/${i}`))
      outsider.net.send(ids[0]!, bytes(`sync-request/${i}`))
      await sleep(10)
    }
    await until('b has every secret', () => b.rec.gossipWith('secret/').length === 20)
    await sleep(300)
    assert.equal(outsider.rec.gossip.length, 0, 'the non-member received gossip')
    assert.equal(outsider.rec.direct.length, 0, 'the non-member received direct frames')
    assert.equal(a.rec.gossipWith('forged/').length, 0, 'a delivered the non-member gossip')
    assert.equal(b.rec.gossipWith('forged/').length, 0, 'b got the non-member gossip')
    assert.equal(a.rec.direct.length, 0, 'a read direct frames of a non-member')
    // The outsider was never a gossipsub peer, so it holds no score: it was not penalised for
    // what it sent, because none of it was read.
    const seen = a.net.health().find((h) => h.id === ids[2])
    assert.ok(seen === undefined || seen.score === 0, JSON.stringify(seen))
  })

  it('a non-member learns the ledger through the join protocol only, and asking too often is refused', async () => {
    const member = keypairFromSeed(seed(11)).id
    const a = await start(10, {
      isMember: (id) => id === member,
      join: (_from, _addr, request) =>
        request.type === 'hello'
          ? {
              type: 'info',
              info: { ledger: LEDGER, name: 'Office', members: 1, online: 1, since: 7 },
            }
          : { type: 'pending' },
    })
    const finder = await Finder.start(
      { seed: generateKeypair().seed, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false },
      () => {},
    )
    try {
      const addr = a.net.addrs()[0]!
      const hello = await finder.ask([addr], { type: 'hello' })
      assert.deepEqual(hello.answer, {
        type: 'info',
        info: { ledger: LEDGER, name: 'Office', members: 1, online: 1, since: 7 },
      })
      assert.equal(hello.from, a.net.id)
      const answers: string[] = []
      for (let i = 0; i < 8; i++) {
        const r = await finder.ask([addr], { type: 'join', ledger: LEDGER, name: 'desk' })
        answers.push(r.answer.type)
      }
      assert.ok(answers.includes('pending'), answers.join())
      assert.ok(answers.includes('refused'), `a burst of asks must be cut: ${answers.join()}`)
    } finally {
      await finder.stop()
    }
  })
})

describe('the join protocol codec', () => {
  it('requests and answers round-trip', () => {
    const join = { type: 'join', ledger: LEDGER, name: 'Front desk' } as const
    assert.deepEqual(decodeJoinRequest(body(encodeJoin(join))), join)
    assert.deepEqual(decodeJoinRequest(body(encodeJoin({ type: 'hello' }))), { type: 'hello' })
    const approved = { type: 'approved', genesis: 'AAEC', addrs: ['/ip4/10.0.0.1/tcp/1'] } as const
    assert.deepEqual(decodeJoinAnswer(body(encodeJoin(approved))), approved)
    assert.ok(MAX_JOIN_REQUEST_BYTES >= encodeJoin(join).length)
  })

  it('anything malformed or over its bounds is refused, never half-read', () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
    for (const bad of [
      enc({ type: 'join', ledger: 'AB'.repeat(32), name: 'x' }),
      enc({ type: 'join', ledger: LEDGER, name: 'x'.repeat(65) }),
      enc({ type: 'join', ledger: LEDGER }),
      enc(['hello']),
      enc(null),
      new Uint8Array([0xff, 0xfe]),
    ]) {
      assert.throws(() => decodeJoinRequest(bad), JoinProtocolError)
    }
    for (const bad of [
      enc({ type: 'approved', genesis: 'AA', addrs: Array(257).fill('/ip4/1.2.3.4/tcp/1') }),
      enc({ type: 'info', info: { ledger: LEDGER, name: 'x', members: -1, online: 0, since: 0 } }),
      enc({ type: 'whatever' }),
    ]) {
      assert.throws(() => decodeJoinAnswer(bad), JoinProtocolError)
    }
  })
})

describe('redial addresses', () => {
  it('the newest address is dialled first and old ones age out past 16', async () => {
    const dialled: (readonly string[])[] = []
    const r = new Redialer({
      dial: async (_id, addrs) => {
        dialled.push(addrs)
        throw new Error('unreachable')
      },
      isConnected: () => false,
      blockedFor: () => 0,
      log: () => {},
    })
    try {
      for (let i = 0; i < 20; i++) r.remember('p', `/ip4/10.0.0.1/tcp/${1000 + i}`)
      r.remember('p', '/ip4/10.0.0.1/tcp/1005')
      r.kickAll()
      await until('dialled', () => dialled.length > 0)
      const addrs = dialled[0]!
      assert.equal(addrs[0], '/ip4/10.0.0.1/tcp/1005')
      assert.equal(addrs[1], '/ip4/10.0.0.1/tcp/1019')
      assert.equal(addrs.length, 16)
      assert.ok(!addrs.includes('/ip4/10.0.0.1/tcp/1000'))
    } finally {
      r.stop()
    }
  })
})
