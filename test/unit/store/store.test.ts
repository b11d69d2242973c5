import assert from 'node:assert/strict'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import type { Block, Commit, SignedEntry, Transfer } from '../../../core/ledger/index.ts'
import { blockHash, signEntry } from '../../../core/ledger/index.ts'
import type { EntryQuery, Store } from '../../../core/store/index.ts'
import { MAX_PAGE, StoreError } from '../../../core/store/index.ts'
import { author, commitBlock, newChain, openIn, tempDirs, transferEntry } from './helpers.ts'

const temp = tempDirs()
after(() => temp.cleanup())

function fresh(): Store {
  return openIn(temp.dir())
}

/** A block at `height` on top of the chain's, with any entries: the store does not verify bodies. */
function handMadeBlock(
  prev: Block | null,
  entries: readonly SignedEntry[],
  time = 7,
): { block: Block; commit: Commit } {
  const chain = newChain()
  const base = chain.next([]).block
  const block: Block = {
    ...base,
    header: {
      ...base.header,
      height: (prev?.header.height ?? 0) + 1,
      prevHash: prev ? blockHash(prev.header) : base.header.prevHash,
      time,
    },
    entries,
  }
  const commit: Commit = {
    height: block.header.height,
    round: 0,
    blockHash: blockHash(block.header),
    signatures: [],
  }
  return { block, commit }
}

describe('meta values', () => {
  it('round-trip as plain bytes, are overwritten, and are gone once deleted', () => {
    const s = fresh()
    assert.equal(s.getMeta('node-seed'), null)
    s.setMeta('node-seed', new Uint8Array(32).fill(7))
    assert.deepEqual(s.getMeta('node-seed'), new Uint8Array(32).fill(7))
    s.setMeta('node-seed', new Uint8Array([1, 2]))
    assert.deepEqual(s.getMeta('node-seed'), new Uint8Array([1, 2]))
    s.setMeta('wal', new Uint8Array(0))
    assert.deepEqual(s.getMeta('wal'), new Uint8Array(0))
    s.deleteMeta('node-seed')
    assert.equal(s.getMeta('node-seed'), null)
    assert.deepEqual(s.getMeta('wal'), new Uint8Array(0))
    s.close()
  })
})

describe('settings', () => {
  it('round-trip JSON values, list them all, and read undefined when absent', () => {
    const s = fresh()
    assert.equal(s.getSetting('peers'), undefined)
    s.setSetting('peers', ['/ip4/127.0.0.1/tcp/1'])
    s.setSetting('timing', { proposeMs: 500, nested: [1, null, 'x'] })
    s.setSetting('mdns', false)
    s.setSetting('nothing', null)
    assert.deepEqual(s.getSetting('timing'), { proposeMs: 500, nested: [1, null, 'x'] })
    assert.equal(s.getSetting('nothing'), null)
    s.setSetting('mdns', true)
    assert.deepEqual(s.settings(), {
      mdns: true,
      nothing: null,
      peers: ['/ip4/127.0.0.1/tcp/1'],
      timing: { proposeMs: 500, nested: [1, null, 'x'] },
    })
    s.close()
  })

  it('setting undefined removes it, and a value JSON cannot hold is refused', () => {
    const s = fresh()
    s.setSetting('a', 1)
    s.setSetting('a', undefined)
    assert.equal(s.getSetting('a'), undefined)
    assert.deepEqual(s.settings(), {})
    assert.throws(() => s.setSetting('f', () => 1), TypeError)
    assert.throws(() => s.setSetting('big', 1n), TypeError)
    assert.deepEqual(s.settings(), {})
    s.close()
  })
})

describe('entries', () => {
  it('putEntry stores a local entry as submitted and a relayed one as relayed, once', () => {
    const s = fresh()
    const chain = newChain()
    const mine = transferEntry(chain, 1, { memo: 'lunch' })
    const theirs = transferEntry(chain, 2)
    assert.equal(s.putEntry(mine, true, 1000), true)
    assert.equal(s.putEntry(theirs, false, 2000), true)
    assert.equal(s.putEntry(mine, false, 3000), false)
    const a = s.entry(mine.id)!
    assert.deepEqual(a.entry, mine)
    assert.equal(a.status, 'submitted')
    assert.equal(a.local, true)
    assert.equal(a.received, 1000)
    assert.equal(a.height, null)
    assert.equal(a.reason, null)
    const b = s.entry(theirs.id)!
    assert.equal(b.status, 'relayed')
    assert.equal(b.local, false)
    assert.equal(b.received, 2000)
    assert.ok(b.seq > a.seq, 'seq follows arrival')
    assert.equal(s.entry('00'.repeat(32)), null)
    s.close()
  })

  it('stores the largest amount (2^63 - 1) without loss, as an integer column too', () => {
    const dir = temp.dir()
    const s = openIn(dir)
    const max = 2n ** 63n - 1n
    const e = transferEntry(newChain(), 1, { amount: max })
    s.putEntry(e, true, 1)
    const body = s.entry(e.id)!.entry.entry.body
    assert.equal(body.kind === 'transfer' && body.amount, max)
    s.close()
    const raw = new Database(join(dir, 'tally.db'), { readonly: true })
    const row = raw.prepare('SELECT amount FROM entries').safeIntegers().get() as { amount: bigint }
    raw.close()
    assert.equal(row.amount, max)
  })

  it('stores member changes, which have no accounts', () => {
    const s = fresh()
    const chain = newChain()
    const e = signEntry(author, {
      ledger: chain.state.ledger,
      author: author.id,
      nonce: 9,
      time: 1,
      body: { kind: 'member', action: 'add', member: 'ab'.repeat(32), name: 'Front desk' },
    })
    assert.equal(s.putEntry(e, true, 1), true)
    assert.deepEqual(s.entry(e.id)!.entry, e)
    assert.deepEqual(s.pendingEntries(), [e])
    s.close()
  })

  it('markRelayed moves submitted to relayed only, and ignores unknown ids', () => {
    const s = fresh()
    const chain = newChain()
    const [a, b, c] = [1, 2, 3].map((n) => transferEntry(chain, n))
    s.putEntry(a!, true, 1)
    s.putEntry(b!, true, 1)
    s.putEntry(c!, false, 1)
    commitBlock(s, chain, [b!])
    s.markRelayed([a!.id, b!.id, c!.id, 'ff'.repeat(32)])
    assert.equal(s.entry(a!.id)!.status, 'relayed')
    assert.equal(s.entry(b!.id)!.status, 'committed')
    assert.equal(s.entry(c!.id)!.status, 'relayed')
    s.close()
  })

  it('putEntry never downgrades a committed entry', () => {
    const s = fresh()
    const chain = newChain()
    const e = transferEntry(chain, 1)
    s.putEntry(e, true, 1)
    commitBlock(s, chain, [e])
    assert.equal(s.putEntry(e, true, 2), false)
    assert.equal(s.putEntry(e, false, 3), false)
    const r = s.entry(e.id)!
    assert.equal(r.status, 'committed')
    assert.equal(r.height, 1)
    assert.equal(r.received, 1)
    assert.equal(r.local, true)
    s.close()
  })

  it('pendingEntries holds submitted and relayed entries in arrival order, not settled ones', () => {
    const s = fresh()
    const chain = newChain()
    const es = [1, 2, 3, 4, 5].map((n) => transferEntry(chain, n, { amount: BigInt(n) }))
    // Arrival order differs from nonce order, to be sure the order is the store's own.
    const arrival = [es[3]!, es[0]!, es[4]!, es[1]!, es[2]!]
    for (const [i, e] of arrival.entries()) s.putEntry(e, i % 2 === 0, 10 + i)
    s.markRelayed([es[3]!.id])
    commitBlock(s, chain, [es[0]!, es[1]!])
    assert.deepEqual(s.pendingEntries(), [es[3]!, es[4]!, es[2]!])
    s.close()
  })
})

describe('blocks', () => {
  it('appendBlock stores block and commit, and settles its entries with height and reason', () => {
    const s = fresh()
    const chain = newChain()
    const fund = transferEntry(chain, 1, { from: '@bank', to: 'alice', amount: 50n })
    const overdraw = transferEntry(chain, 2, { from: 'alice', to: 'bob', amount: 80n })
    const unseen = transferEntry(chain, 3, { from: 'alice', to: 'carol', amount: 20n })
    s.putEntry(fund, true, 1)
    s.putEntry(overdraw, false, 2)
    const first = commitBlock(s, chain, [fund], 100)
    const second = commitBlock(s, chain, [overdraw, unseen], 200)
    const reason = second.outcomes.find((o) => o.id === overdraw.id)
    assert.ok(reason?.status === 'rejected', 'the ledger rejects the overdraft')

    assert.equal(s.height(), 2)
    assert.deepEqual(s.block(1), { block: first.block, commit: first.commit })
    assert.deepEqual(s.block(2), { block: second.block, commit: second.commit })
    assert.equal(s.block(3), null)
    assert.deepEqual(s.blockHeader(2), {
      hash: blockHash(second.block.header),
      time: second.block.header.time,
      proposer: second.block.header.proposer,
      entries: 2,
    })
    assert.equal(s.blockHeader(3), null)

    assert.deepEqual(pick(s.entry(fund.id)!), ['committed', 1, null, true, 1])
    assert.deepEqual(pick(s.entry(overdraw.id)!), ['rejected', 2, reason.reason, false, 2])
    // Never seen before the block: stored as it arrived, with the block.
    assert.deepEqual(pick(s.entry(unseen.id)!), ['committed', 2, null, false, 200])
    assert.deepEqual(s.pendingEntries(), [])
    s.close()
  })

  it('a duplicate outcome leaves the entry as an earlier outcome set it', () => {
    const s = fresh()
    const chain = newChain()
    const e = transferEntry(chain, 1)
    const one = handMadeBlock(null, [e])
    s.appendBlock(one.block, one.commit, [{ id: e.id, status: 'committed' }], 1)
    const two = handMadeBlock(one.block, [e, e])
    s.appendBlock(
      two.block,
      two.commit,
      [
        { id: e.id, status: 'duplicate' },
        { id: e.id, status: 'duplicate' },
      ],
      2,
    )
    assert.deepEqual(pick(s.entry(e.id)!), ['committed', 1, null, false, 1])
    // Within one block: the first outcome counts, the repeat is dropped.
    const f = transferEntry(chain, 2)
    const three = handMadeBlock(two.block, [f, f])
    s.appendBlock(
      three.block,
      three.commit,
      [
        { id: f.id, status: 'rejected', reason: 'nope' },
        { id: f.id, status: 'duplicate' },
      ],
      3,
    )
    assert.deepEqual(pick(s.entry(f.id)!), ['rejected', 3, 'nope', false, 3])
    s.close()
  })

  it('appendBlock of the same block again changes nothing', () => {
    const s = fresh()
    const chain = newChain()
    const e = transferEntry(chain, 1)
    const { block, commit, outcomes } = commitBlock(s, chain, [e], 10)
    s.appendBlock(block, commit, outcomes, 99)
    assert.equal(s.height(), 1)
    assert.equal(s.entry(e.id)!.received, 10)
    s.close()
  })

  it('appendBlock refuses a gap, a different block at a stored height and a wrong parent', () => {
    const s = fresh()
    const chain = newChain()
    const e = transferEntry(chain, 1)
    const one = handMadeBlock(null, [])
    const two = handMadeBlock(one.block, [e])
    assert.throws(
      () => s.appendBlock(two.block, two.commit, [], 1),
      storeError(/block 2.*last stored block is 0/),
    )
    assert.equal(s.height(), 0)
    assert.equal(s.entry(e.id), null, 'nothing of a refused block is kept')

    s.appendBlock(one.block, one.commit, [], 1)
    const rival = handMadeBlock(null, [], 8)
    assert.throws(
      () => s.appendBlock(rival.block, rival.commit, [], 1),
      storeError(/block 1.*already stored/),
    )
    const orphan = handMadeBlock(rival.block, [])
    assert.throws(
      () => s.appendBlock(orphan.block, orphan.commit, [], 1),
      storeError(/block 2.*extends/),
    )
    assert.equal(s.height(), 1)
    assert.equal(s.blockHeader(1)!.hash, blockHash(one.block.header))
    s.close()
  })

  it('appendBlock refuses a commit of another block and an outcome for an entry not in it', () => {
    const s = fresh()
    const chain = newChain()
    const e = transferEntry(chain, 1)
    const one = handMadeBlock(null, [e])
    const other = handMadeBlock(null, [], 99)
    assert.throws(
      () => s.appendBlock(one.block, other.commit, [], 1),
      storeError(/commit is for block/),
    )
    const stray = transferEntry(chain, 2)
    assert.throws(
      () => s.appendBlock(one.block, one.commit, [{ id: stray.id, status: 'committed' }], 1),
      storeError(/outcome for entry/),
    )
    assert.equal(s.height(), 0)
    s.close()
  })

  it('appendBlock of 1,000 gossiped entries settles them all (time reported, not asserted)', (t) => {
    const s = fresh()
    const chain = newChain()
    const blockTimes: number[] = []
    let nonce = 0
    for (let b = 0; b < 5; b++) {
      const es = Array.from({ length: 1000 }, (_, i) =>
        transferEntry(chain, ++nonce, { to: `acct${i % 37}`, memo: `payment ${i}` }),
      )
      s.transaction(() => {
        for (const e of es) s.putEntry(e, false, 1)
      })
      const { block, execution } = chain.next(es)
      const commit = chain.commitFor(block)
      const outcomes = chain.state.apply(block, execution)
      const started = performance.now()
      s.appendBlock(block, commit, outcomes, 2)
      blockTimes.push(performance.now() - started)
    }
    assert.equal(s.height(), 5)
    assert.equal(s.pendingEntries().length, 0)
    assert.equal(s.entries({ status: 'committed', limit: 500 }).entries.length, 500)
    assert.equal(s.blockHeader(5)!.entries, 1000)
    // A single-row transaction: what one fsync of the log costs here.
    const commitTimes: number[] = []
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now()
      s.setMeta('wal', new Uint8Array([i]))
      commitTimes.push(performance.now() - t0)
    }
    t.diagnostic(`appendBlock of 1,000 entries: ${spread(blockTimes)}`)
    t.diagnostic(`single-row commit: ${spread(commitTimes)}`)
    s.close()
  })
})

function spread(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]!
  return `median ${median.toFixed(2)} ms, max ${sorted[sorted.length - 1]!.toFixed(2)} ms over ${ms.length} (${ms.map((t) => t.toFixed(1)).join(', ')})`
}

describe('entry pages', () => {
  function seeded() {
    const s = fresh()
    const chain = newChain()
    const specs = [
      { to: 'alice', memo: 'Coffee beans', asset: 'USD' },
      { to: 'bob', memo: 'rent 100%', asset: 'EUR' },
      { to: 'alice', memo: 'Café au lait', asset: 'USD' },
      { to: 'carol', memo: 'rent_2', asset: 'BTC8' },
      { to: 'bob', memo: '', asset: 'USD' },
      { to: 'dave', memo: 'CAFÉ tab', asset: 'EUR' },
      { to: 'alice', memo: 'misc', asset: 'EUR' },
    ]
    const es = specs.map((f, i) => transferEntry(chain, i + 1, f))
    for (const e of es) s.putEntry(e, true, 1)
    return { s, chain, es }
  }

  const ids = (page: { entries: { entry: SignedEntry }[] }) => page.entries.map((r) => r.entry.id)

  it('lists newest first and pages by cursor until next is null', () => {
    const { s, es } = seeded()
    const newestFirst = es.map((e) => e.id).reverse()
    const seen: string[] = []
    let before: number | undefined
    let pages = 0
    for (;;) {
      const page = s.entries(before === undefined ? { limit: 3 } : { limit: 3, before })
      pages++
      seen.push(...ids(page))
      if (page.next === null) break
      assert.equal(page.next, page.entries[page.entries.length - 1]!.seq)
      before = page.next
    }
    assert.equal(pages, 3)
    assert.deepEqual(seen, newestFirst)
    // A page that ends exactly at the last entry says there is no more.
    assert.equal(s.entries({ limit: 7 }).next, null)
    assert.equal(s.entries({ limit: 6 }).next !== null, true)
    s.close()
  })

  it('filters by account (from or to) and by status', () => {
    const { s, chain, es } = seeded()
    const fromAlice = transferEntry(chain, 100, { from: 'alice', to: 'erin', amount: 1n })
    s.putEntry(fromAlice, false, 2)
    assert.deepEqual(ids(s.entries({ account: 'alice', limit: 10 })), [
      fromAlice.id,
      es[6]!.id,
      es[2]!.id,
      es[0]!.id,
    ])
    assert.deepEqual(ids(s.entries({ account: 'nobody', limit: 10 })), [])
    commitBlock(s, chain, [es[1]!, es[4]!])
    assert.deepEqual(ids(s.entries({ status: 'committed', limit: 10 })), [es[4]!.id, es[1]!.id])
    assert.deepEqual(ids(s.entries({ status: 'relayed', limit: 10 })), [fromAlice.id])
    assert.deepEqual(ids(s.entries({ account: 'bob', status: 'committed', limit: 1 })), [es[4]!.id])
    s.close()
  })

  it('pages an account on both sides of its entries, with other filters, as one newest-first list', () => {
    const s = fresh()
    const chain = newChain()
    // alice is sender and receiver in turn, with other accounts' entries between, so that each
    // page must merge the two sides.
    const assets = ['EUR', 'USD']
    const all = Array.from({ length: 60 }, (_, i) => {
      const from = i % 3 === 0 ? 'alice' : i % 3 === 1 ? 'carol' : 'bob'
      const to = i % 3 === 0 ? (i % 2 === 0 ? 'bob' : 'carol') : i % 2 === 0 ? 'alice' : 'dave'
      return transferEntry(chain, i + 1, { from, to, asset: assets[i % 2]!, memo: `m${i % 5}` })
    })
    for (const e of all) s.putEntry(e, true, 1)
    const body = (e: SignedEntry) => e.entry.body as Transfer
    const cases: {
      query: Omit<EntryQuery, 'limit' | 'before'>
      keep: (e: SignedEntry) => boolean
    }[] = [
      {
        query: { account: 'alice' },
        keep: (e) => body(e).from === 'alice' || body(e).to === 'alice',
      },
      {
        query: { account: 'alice', asset: 'EUR' },
        keep: (e) =>
          (body(e).from === 'alice' || body(e).to === 'alice') && body(e).asset === 'EUR',
      },
      {
        query: { account: 'alice', q: 'm3' },
        keep: (e) => (body(e).from === 'alice' || body(e).to === 'alice') && body(e).memo === 'm3',
      },
    ]
    for (const { query, keep } of cases) {
      const expected = all
        .filter(keep)
        .map((e) => e.id)
        .reverse()
      for (const limit of [1, 4, 7, 100]) {
        const seen: string[] = []
        let before: number | undefined
        for (;;) {
          const page = s.entries({ ...query, limit, ...(before === undefined ? {} : { before }) })
          seen.push(...ids(page))
          if (page.next === null) break
          before = page.next
        }
        assert.deepEqual(seen, expected, `${JSON.stringify(query)} by ${limit}`)
      }
    }
    s.close()
  })

  it('filters by asset exactly, alone and with account, status and cursor', () => {
    const { s, chain, es } = seeded()
    assert.deepEqual(ids(s.entries({ asset: 'EUR', limit: 10 })), [es[6]!.id, es[5]!.id, es[1]!.id])
    // Exact: neither a prefix nor another case matches.
    assert.deepEqual(ids(s.entries({ asset: 'BTC', limit: 10 })), [])
    assert.deepEqual(ids(s.entries({ asset: 'eur', limit: 10 })), [])
    assert.deepEqual(ids(s.entries({ asset: 'USD', account: 'alice', limit: 10 })), [
      es[2]!.id,
      es[0]!.id,
    ])
    commitBlock(s, chain, [es[1]!, es[4]!])
    assert.deepEqual(ids(s.entries({ asset: 'EUR', status: 'committed', limit: 10 })), [es[1]!.id])
    const first = s.entries({ asset: 'EUR', limit: 2 })
    assert.deepEqual(ids(first), [es[6]!.id, es[5]!.id])
    assert.notEqual(first.next, null)
    assert.deepEqual(ids(s.entries({ asset: 'EUR', limit: 2, before: first.next! })), [es[1]!.id])
    s.close()
  })

  it('q finds a case-insensitive substring of memo, account, asset or id, literally', () => {
    const { s, es } = seeded()
    const find = (q: string) => ids(s.entries({ q, limit: 50 }))
    assert.deepEqual(find('café'), [es[5]!.id, es[2]!.id])
    assert.deepEqual(find('COFFEE'), [es[0]!.id])
    assert.deepEqual(find('carol'), [es[3]!.id])
    assert.deepEqual(find('btc'), [es[3]!.id])
    assert.deepEqual(find('@BANK').length, 7)
    assert.deepEqual(find(es[4]!.id.slice(20, 40).toUpperCase()), [es[4]!.id])
    // % and _ are characters to find, not LIKE wildcards.
    assert.deepEqual(find('100%'), [es[1]!.id])
    assert.deepEqual(find('t_'), [es[3]!.id])
    assert.deepEqual(find('zzz'), [])
    assert.deepEqual(ids(s.entries({ q: 'rent', account: 'carol', limit: 5 })), [es[3]!.id])
    s.close()
  })

  it(`refuses a limit outside 1..${MAX_PAGE} and a cursor that is not an integer`, () => {
    const s = fresh()
    for (const limit of [0, -1, MAX_PAGE + 1, 1.5, Number.NaN]) {
      assert.throws(() => s.entries({ limit }), {
        name: 'RangeError',
        message: new RegExp(`limit must be an integer from 1 to ${MAX_PAGE}; got ${limit}`),
      })
    }
    assert.throws(() => s.entries({ limit: 5, before: 2.5 }), RangeError)
    assert.deepEqual(s.entries({ limit: MAX_PAGE }), { entries: [], next: null })
    assert.deepEqual(s.entries({ limit: 1 }), { entries: [], next: null })
    s.close()
  })
})

describe('peers', () => {
  it('remembers, updates and forgets peers, most recently seen first', () => {
    const s = fresh()
    s.rememberPeer('p1', ['/ip4/10.0.0.1/tcp/4001'], 100)
    s.rememberPeer('p2', ['/ip4/10.0.0.2/tcp/4001'], 200)
    assert.deepEqual(s.peers(), [
      { id: 'p2', addrs: ['/ip4/10.0.0.2/tcp/4001'], lastSeen: 200 },
      { id: 'p1', addrs: ['/ip4/10.0.0.1/tcp/4001'], lastSeen: 100 },
    ])
    s.rememberPeer('p1', ['/ip4/10.0.0.9/tcp/4001', '/ip4/10.0.0.9/tcp/4002'], 300)
    // Seen again before its addresses are known: the ones we had are kept.
    s.rememberPeer('p2', [], 400)
    assert.deepEqual(s.peers(), [
      { id: 'p2', addrs: ['/ip4/10.0.0.2/tcp/4001'], lastSeen: 400 },
      { id: 'p1', addrs: ['/ip4/10.0.0.9/tcp/4001', '/ip4/10.0.0.9/tcp/4002'], lastSeen: 300 },
    ])
    s.forgetPeer('p2')
    s.forgetPeer('unknown')
    assert.deepEqual(
      s.peers().map((p) => p.id),
      ['p1'],
    )
    s.close()
  })
})

describe('transactions', () => {
  it('roll back everything, nested calls included, when the outer one throws', () => {
    const s = fresh()
    const e = transferEntry(newChain(), 1)
    assert.throws(
      () =>
        s.transaction(() => {
          s.setMeta('wal', new Uint8Array([1]))
          s.transaction(() => s.putEntry(e, true, 1))
          throw new Error('crash before commit')
        }),
      /crash before commit/,
    )
    assert.equal(s.getMeta('wal'), null)
    assert.equal(s.entry(e.id), null)
    const out = s.transaction(() => {
      s.transaction(() => s.setMeta('wal', new Uint8Array([2])))
      return s.putEntry(e, true, 1)
    })
    assert.equal(out, true)
    assert.deepEqual(s.getMeta('wal'), new Uint8Array([2]))
    s.close()
  })

  it('an async function is refused and its synchronous part rolled back', () => {
    const s = fresh()
    assert.throws(
      () =>
        s.transaction(async () => {
          s.setMeta('wal', new Uint8Array([1]))
        }),
      /cannot be async/,
    )
    assert.equal(s.getMeta('wal'), null)
    s.close()
  })

  it('SQLite failures surface as StoreError naming the file', () => {
    const dir = temp.dir()
    const s = openIn(dir)
    assert.throws(
      () =>
        s.transaction(() =>
          s.transaction(() =>
            s.transaction(() => {
              throw sqliteFailure()
            }),
          ),
        ),
      (e: unknown) =>
        e instanceof StoreError &&
        e.message.includes(join(dir, 'tally.db')) &&
        /disk I\/O/.test(e.message),
    )
    s.close()
  })
})

function sqliteFailure(): Error {
  return new Database.SqliteError('disk I/O error', 'SQLITE_IOERR')
}

function pick(r: {
  status: string
  height: number | null
  reason: string | null
  local: boolean
  received: number
}) {
  return [r.status, r.height, r.reason, r.local, r.received]
}

function storeError(message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${String(e)}`)
    assert.match(e.message, message)
    assert.ok(e.message.includes('tally.db'), e.message)
    return true
  }
}

describe('transactions without an fsync', () => {
  it('commit what they wrote, roll back when they throw, and leave later commits as they were', () => {
    const dir = temp.dir()
    const s = openIn(dir)
    s.transaction(() => s.setMeta('a', new Uint8Array([1])), false)
    assert.throws(
      () =>
        s.transaction(() => {
          s.setMeta('b', new Uint8Array([2]))
          throw new Error('boom')
        }, false),
      /boom/,
    )
    s.transaction(() => s.setMeta('c', new Uint8Array([3])))
    s.close()
    const again = openIn(dir)
    assert.deepEqual(again.getMeta('a'), new Uint8Array([1]))
    assert.equal(again.getMeta('b'), null)
    assert.deepEqual(again.getMeta('c'), new Uint8Array([3]))
    again.close()
  })
})

describe('file permissions', () => {
  it('a new database, which holds the node key, is readable by its owner only', () => {
    const dir = temp.dir()
    const s = openIn(join(dir, 'data'))
    s.close()
    assert.equal(statSync(join(dir, 'data', 'tally.db')).mode & 0o077, 0)
    assert.equal(statSync(join(dir, 'data')).mode & 0o077, 0)
  })
})
