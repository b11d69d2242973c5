/**
 * The pure parts that bound what a peer can make a node hold or do: the rate limiter, the byte
 * budget for unfinished frames, the yamux frame guard, and the maps keyed by peer (penalties,
 * peer book), which must not grow with every key pair a hostile machine makes up.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ByteBudget } from '../../../core/net/budget.ts'
import { MAX_ADDR_CHARS, MAX_ADDRS, PeerBook } from '../../../core/net/health.ts'
import { MuxerFrameGuard, OversizedMuxerFrameError } from '../../../core/net/muxer.ts'
import { PENALTIES, Penalties } from '../../../core/net/penalties.ts'
import { RateLimiter } from '../../../core/net/rate-limit.ts'

const id = (n: number) => n.toString(16).padStart(64, '0')

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate, per key', () => {
    const limit = new RateLimiter({ ratePerSecond: 10, burst: 3, maxKeys: 10 })
    for (let i = 0; i < 3; i++) assert.equal(limit.take('a', 0), true)
    assert.equal(limit.take('a', 0), false, 'the burst is spent')
    assert.equal(limit.take('b', 0), true, 'another key has its own bucket')
    assert.equal(limit.take('a', 50), false, 'half a token after 50 ms')
    assert.equal(limit.take('a', 100), true, 'one token after 100 ms')
    assert.equal(limit.available('a', 10_000), 3, 'refills no further than the burst')
  })

  it('a charge after the fact puts the key in debt until it refills', () => {
    const limit = new RateLimiter({ ratePerSecond: 1000, burst: 1000, maxKeys: 10 })
    assert.equal(limit.take('a', 0, 1), true)
    limit.charge('a', 0, 3000)
    assert.equal(limit.take('a', 1000, 1), false, 'still 1001 tokens in debt after a second')
    assert.equal(limit.take('a', 3100, 1), true)
  })

  it('a take that cannot be paid spends nothing', () => {
    const limit = new RateLimiter({ ratePerSecond: 1, burst: 5, maxKeys: 10 })
    assert.equal(limit.take('a', 0, 6), false)
    assert.equal(limit.available('a', 0), 5)
  })

  it('keeps at most maxKeys buckets, forgetting the least recently used', () => {
    const limit = new RateLimiter({ ratePerSecond: 0.001, burst: 2, maxKeys: 100 })
    limit.take('kept', 0, 2)
    for (let i = 0; i < 10_000; i++) {
      limit.take(`made-up-${i}`, i)
      if (i % 50 === 0) limit.take('kept', i, 0)
    }
    assert.equal(limit.size, 100)
    assert.ok(limit.available('kept', 10_000) < 2, 'the key in use kept its bucket')
  })

  it('refuses a policy that would allow nothing or everything', () => {
    assert.throws(() => new RateLimiter({ ratePerSecond: 0, burst: 1, maxKeys: 1 }), RangeError)
    assert.throws(() => new RateLimiter({ ratePerSecond: 1, burst: Number.NaN, maxKeys: 1 }))
  })
})

describe('ByteBudget', () => {
  it('holds up to the per-peer bound for each peer, and refuses growth past it', () => {
    const budget = new ByteBudget({ perPeer: 100, total: 1000 })
    assert.equal(budget.adjust('a', 60), null)
    assert.equal(budget.adjust('a', 41), 'peer')
    assert.equal(budget.held('a'), 60, 'a refused growth changes nothing')
    assert.equal(budget.adjust('a', 40), null)
    assert.equal(budget.adjust('b', 100), null)
    assert.equal(budget.total, 200)
  })

  it('refuses growth past the total over all peers', () => {
    const budget = new ByteBudget({ perPeer: 100, total: 250 })
    budget.adjust('a', 100)
    budget.adjust('b', 100)
    assert.equal(budget.adjust('c', 60), 'total')
    assert.equal(budget.adjust('c', 50), null)
  })

  it('always lets a peer shrink, and forgets a peer that holds nothing', () => {
    const budget = new ByteBudget({ perPeer: 100, total: 100 })
    budget.adjust('a', 100)
    assert.equal(budget.adjust('a', -100), null)
    assert.equal(budget.peers, 0)
    assert.equal(budget.total, 0)
    assert.equal(budget.adjust('a', -5), null, 'releasing twice does not go negative')
    assert.equal(budget.total, 0)
  })
})

/** A yamux header: version 0, type, flags, stream id, length. */
function header(type: number, length: number, stream = 1): Uint8Array {
  const out = new Uint8Array(12)
  const view = new DataView(out.buffer)
  view.setUint8(1, type)
  view.setUint32(4, stream)
  view.setUint32(8, length)
  return out
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

describe('MuxerFrameGuard', () => {
  it('passes data frames up to the window, and window updates, pings and go-aways of any length', () => {
    const guard = new MuxerFrameGuard(1000)
    const bytes = concat(
      header(0, 1000),
      new Uint8Array(1000),
      header(1, 0xffff_ffff),
      header(2, 0xffff_ffff, 0),
      header(0, 3),
      new Uint8Array(3),
      header(3, 0xffff_ffff, 0),
    )
    guard.push(bytes)
  })

  it('throws on a data frame over the window as soon as its header is in, whatever the chunking', () => {
    const bytes = concat(header(0, 10), new Uint8Array(10), header(0, 1001))
    for (const size of [1, 5, 11, 12, 13, bytes.length]) {
      const guard = new MuxerFrameGuard(1000)
      assert.throws(
        () => {
          for (let at = 0; at < bytes.length; at += size) guard.push(bytes.subarray(at, at + size))
        },
        (e: unknown) => e instanceof OversizedMuxerFrameError && e.length === 1001,
        `chunks of ${size}`,
      )
    }
  })

  it('does not mistake a frame body for a header', () => {
    const guard = new MuxerFrameGuard(100)
    // A body whose bytes would read as a data header declaring 4 GiB.
    const body = header(0, 0xffff_ffff)
    guard.push(concat(header(0, body.length), body, header(0, 100)))
  })
})

describe('Penalties', () => {
  it('forgets debts that decayed and bans that ended', () => {
    const p = new Penalties()
    p.add('a', 0)
    for (let i = 0; i < 5; i++) p.add('b', 0)
    assert.deepEqual(p.size, { debts: 1, bans: 1 })
    p.prune(PENALTIES.banMs + 1)
    assert.deepEqual(p.size, { debts: 1, bans: 0 }, 'a fresh debt is kept')
    p.prune(20 * PENALTIES.halfLifeMs)
    assert.deepEqual(p.size, { debts: 0, bans: 0 })
  })

  it('keeps at most maxPeers debts and bans, however many peers offend', () => {
    const p = new Penalties({ ...PENALTIES, maxPeers: 50 })
    for (let i = 0; i < 10_000; i++) {
      p.add(`debt-${i}`, 0)
      for (let k = 0; k < 5; k++) p.add(`ban-${i}`, 0)
    }
    assert.ok(p.size.debts <= 50, `${p.size.debts} debts`)
    assert.equal(p.size.bans, 50)
    assert.equal(p.banned('ban-9999', 1), true, 'the newest ban stands')
  })
})

describe('PeerBook', () => {
  it('keeps the newest addresses of a peer, newest first, and skips absurd ones', () => {
    const book = new PeerBook()
    const addrs = Array.from({ length: MAX_ADDRS + 5 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`)
    book.known(id(1), addrs)
    book.known(id(1), [`/ip4/10.0.0.3/tcp/1`, `/ip4/1.2.3.4/tcp/${'9'.repeat(MAX_ADDR_CHARS)}`])
    const listed = book.snapshot(() => 0)[0]!.addrs
    assert.equal(listed.length, MAX_ADDRS)
    assert.equal(listed[0], '/ip4/10.0.0.3/tcp/1', 'an address seen again is the newest')
    assert.equal(listed[1], addrs.at(-1))
    assert.ok(!listed.includes(addrs[0]!), 'the oldest went')
    assert.ok(listed.every((a) => a.length <= MAX_ADDR_CHARS))
  })

  it('forgets the disconnected peer heard from longest ago past its bound, never a configured or connected one', () => {
    const book = new PeerBook(10)
    book.known(id(1), ['/ip4/10.0.0.1/tcp/1'], true)
    book.connected(id(2), 1)
    for (let n = 3; n < 1000; n++) {
      book.connected(id(n), n)
      book.disconnected(id(n), n)
    }
    assert.equal(book.size, 10)
    const listed = new Set(book.snapshot(() => 0).map((p) => p.id))
    assert.ok(listed.has(id(1)), 'the configured peer stays')
    assert.ok(listed.has(id(2)), 'the connected peer stays')
    assert.ok(listed.has(id(999)) && !listed.has(id(3)), 'the newest stay, the oldest went')
  })
})
