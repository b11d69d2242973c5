/** Join requests and denials: what is kept, the bounds, and that it all survives a restart. */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import type { JoinRequestInput, Store } from '../../../core/store/index.ts'
import {
  JOIN_DENIAL_MS,
  JoinRequestError,
  MAX_JOIN_ADDR_CHARS,
  MAX_JOIN_DENIALS,
  MAX_JOIN_HOST_CHARS,
  MAX_JOIN_NAME_CHARS,
  MAX_JOIN_REQUESTS,
  MAX_JOIN_REQUESTS_PER_HOST,
} from '../../../core/store/index.ts'
import { migrate, SCHEMA_VERSION } from '../../../core/store/migrations.ts'
import { openIn, tempDirs } from './helpers.ts'

const temp = tempDirs()
after(() => temp.cleanup())

/** A well-formed node id, distinct for each n. */
function nodeId(n: number): string {
  return n.toString(16).padStart(64, '0')
}

function req(n: number, host = '192.168.1.10', name = `machine ${n}`): JoinRequestInput {
  return { id: nodeId(n), name, addr: `/ip4/${host}/tcp/4001`, host }
}

/** Runs `fn` on a store in a fresh folder, closing it afterwards. */
function withStore(fn: (store: Store, dir: string) => void): void {
  const dir = temp.dir()
  const store = openIn(dir)
  try {
    fn(store, dir)
  } finally {
    store.close()
  }
}

const ids = (store: Store) => store.joins.list().map((r) => r.id)

describe('join requests', () => {
  it('bounds: 64 pending, 4 per address, 64-character names, 256-character addresses', () => {
    assert.equal(MAX_JOIN_REQUESTS, 64)
    assert.equal(MAX_JOIN_REQUESTS_PER_HOST, 4)
    assert.equal(MAX_JOIN_NAME_CHARS, 64)
    assert.equal(MAX_JOIN_ADDR_CHARS, 256)
    assert.equal(MAX_JOIN_DENIALS, 256)
    assert.equal(JOIN_DENIAL_MS, 60 * 60 * 1000)
  })

  it('a new id is added, and asking again refreshes its name, address and last time', () => {
    withStore((store) => {
      assert.equal(store.joins.request(req(1), 1_000), 'added')
      assert.deepEqual(store.joins.get(nodeId(1)), { ...req(1), firstAt: 1_000, lastAt: 1_000 })
      const again = { ...req(1), name: 'renamed', addr: '/ip4/192.168.1.10/tcp/4002' }
      assert.equal(store.joins.request(again, 5_000), 'refreshed')
      assert.deepEqual(store.joins.get(nodeId(1)), { ...again, firstAt: 1_000, lastAt: 5_000 })
      assert.equal(store.joins.get(nodeId(2)), null)
      assert.equal(store.joins.list().length, 1)
    })
  })

  it('lists oldest first, a refresh does not move a request', () => {
    withStore((store) => {
      store.joins.request(req(3, '10.0.0.3'), 300)
      store.joins.request(req(1, '10.0.0.1'), 100)
      store.joins.request(req(2, '10.0.0.2'), 200)
      store.joins.request(req(1, '10.0.0.1'), 400)
      assert.deepEqual(ids(store), [nodeId(1), nodeId(2), nodeId(3)])
    })
  })

  it('everything survives closing and reopening the database', () => {
    withStore((store, dir) => {
      store.joins.request(req(1, '10.0.0.1'), 100)
      store.joins.request(req(2, '10.0.0.2'), 200)
      store.joins.request(req(3, '10.0.0.3'), 300)
      store.joins.deny(nodeId(3), 400)
      const before = store.joins.list()
      store.close()
      const reopened = openIn(dir)
      try {
        assert.deepEqual(reopened.joins.list(), before)
        assert.equal(reopened.joins.deniedAt(nodeId(3)), 400)
        assert.equal(reopened.joins.request(req(3, '10.0.0.3'), 500), 'denied')
        assert.equal(reopened.joins.request(req(1, '10.0.0.1'), 600), 'refreshed')
      } finally {
        reopened.close()
      }
    })
  })

  it('a fifth request from one address replaces its least recently seen, and no one else', () => {
    withStore((store) => {
      store.joins.request(req(100, '10.0.0.99'), 1)
      for (let n = 1; n <= 4; n++) assert.equal(store.joins.request(req(n), 10 * n), 'added')
      // 1 is the oldest but seen again, so 2 is now the least recently seen.
      store.joins.request(req(1), 50)
      assert.equal(store.joins.request(req(5), 60), 'added')
      assert.deepEqual(ids(store), [nodeId(100), nodeId(1), nodeId(3), nodeId(4), nodeId(5)])
      // A noisy address only churns its own slots.
      for (let n = 6; n < 40; n++) assert.equal(store.joins.request(req(n), 100 + n), 'added')
      assert.deepEqual(ids(store), [nodeId(100), nodeId(36), nodeId(37), nodeId(38), nodeId(39)])
    })
  })

  it('with 64 pending a new request is refused, but refreshes and per-address replacement go on', () => {
    withStore((store) => {
      const hosts = MAX_JOIN_REQUESTS / MAX_JOIN_REQUESTS_PER_HOST
      let n = 0
      for (let h = 0; h < hosts; h++) {
        for (let k = 0; k < MAX_JOIN_REQUESTS_PER_HOST; k++) {
          assert.equal(store.joins.request(req(++n, `10.0.1.${h}`), n), 'added')
        }
      }
      assert.equal(store.joins.list().length, MAX_JOIN_REQUESTS)
      assert.equal(store.joins.request(req(1_000, '10.0.2.1'), 1_000), 'full')
      assert.equal(store.joins.get(nodeId(1_000)), null)
      assert.equal(store.joins.request(req(1, '10.0.1.0'), 1_001), 'refreshed')
      // A full address replaces its own least recently seen (2, since 1 was just seen).
      assert.equal(store.joins.request(req(1_001, '10.0.1.0'), 1_002), 'added')
      assert.equal(store.joins.get(nodeId(2)), null)
      assert.equal(store.joins.list().length, MAX_JOIN_REQUESTS)
      // Room made by an answer is room for a new address.
      assert.ok(store.joins.remove(nodeId(64)))
      assert.equal(store.joins.request(req(1_000, '10.0.2.1'), 1_003), 'added')
      assert.equal(store.joins.request(req(1_002, '10.0.2.2'), 1_004), 'full')
    })
  })

  it('a machine that moves to a full address takes a slot there, not a fifth', () => {
    withStore((store) => {
      for (let n = 1; n <= 4; n++) store.joins.request(req(n, '10.0.0.1'), n)
      store.joins.request(req(5, '10.0.0.2'), 5)
      assert.equal(store.joins.request(req(5, '10.0.0.1'), 6), 'refreshed')
      assert.deepEqual(ids(store), [nodeId(2), nodeId(3), nodeId(4), nodeId(5)])
      assert.equal(store.joins.get(nodeId(5))?.host, '10.0.0.1')
    })
  })

  it('a denied machine is turned away for an hour, then may ask again', () => {
    withStore((store) => {
      store.joins.request(req(1), 1_000)
      assert.equal(store.joins.deny(nodeId(1), 2_000), true)
      assert.equal(store.joins.get(nodeId(1)), null)
      assert.equal(store.joins.deniedAt(nodeId(1)), 2_000)
      assert.equal(store.joins.request(req(1), 2_001), 'denied')
      assert.equal(store.joins.request(req(1), 2_000 + JOIN_DENIAL_MS - 1), 'denied')
      assert.deepEqual(store.joins.list(), [])
      assert.equal(store.joins.request(req(1), 2_000 + JOIN_DENIAL_MS), 'added')
      assert.equal(store.joins.get(nodeId(1))?.firstAt, 2_000 + JOIN_DENIAL_MS)
      assert.equal(store.joins.deniedAt(nodeId(2)), null)
    })
  })

  it('a denial of a machine with nothing pending is recorded too', () => {
    withStore((store) => {
      assert.equal(store.joins.deny(nodeId(7), 100), false)
      assert.equal(store.joins.deniedAt(nodeId(7)), 100)
      assert.equal(store.joins.request(req(7), 200), 'denied')
    })
  })

  it('keeps the 256 most recent denials; denying again renews one', () => {
    withStore((store) => {
      for (let n = 1; n <= MAX_JOIN_DENIALS; n++) store.joins.deny(nodeId(n), n)
      // Denied again, 1 becomes the most recent, whatever the time says: 2 is now the oldest.
      store.joins.deny(nodeId(1), 0)
      store.joins.deny(nodeId(1_000), MAX_JOIN_DENIALS + 1)
      assert.equal(store.joins.deniedAt(nodeId(2)), null)
      assert.equal(store.joins.deniedAt(nodeId(1)), 0)
      assert.equal(store.joins.deniedAt(nodeId(3)), 3)
      assert.equal(store.joins.deniedAt(nodeId(1_000)), MAX_JOIN_DENIALS + 1)
      // 100 more push out the 100 least recently denied, 3 to 102.
      for (let n = 2_000; n < 2_100; n++) store.joins.deny(nodeId(n), n)
      assert.equal(store.joins.deniedAt(nodeId(102)), null)
      assert.equal(store.joins.deniedAt(nodeId(103)), 103)
      assert.equal(store.joins.deniedAt(nodeId(1)), 0)
      const candidates = [
        ...Array.from({ length: MAX_JOIN_DENIALS }, (_, i) => i + 1),
        1_000,
        ...Array.from({ length: 100 }, (_, i) => 2_000 + i),
      ]
      const kept = candidates.filter((n) => store.joins.deniedAt(nodeId(n)) !== null)
      assert.equal(kept.length, MAX_JOIN_DENIALS)
    })
  })

  it('remove drops a pending request and says whether there was one', () => {
    withStore((store) => {
      store.joins.request(req(1), 1)
      assert.equal(store.joins.remove(nodeId(1)), true)
      assert.equal(store.joins.remove(nodeId(1)), false)
      assert.equal(store.joins.get(nodeId(1)), null)
      assert.equal(store.joins.deniedAt(nodeId(1)), null)
      assert.equal(store.joins.request(req(1), 2), 'added')
    })
  })

  it('refuses what is out of bounds, and stores nothing of it', () => {
    withStore((store) => {
      const longest = {
        id: nodeId(1),
        name: 'n'.repeat(MAX_JOIN_NAME_CHARS),
        addr: 'a'.repeat(MAX_JOIN_ADDR_CHARS),
        host: 'h'.repeat(MAX_JOIN_HOST_CHARS),
      }
      assert.equal(store.joins.request(longest, 1), 'added')
      assert.deepEqual(store.joins.get(nodeId(1)), { ...longest, firstAt: 1, lastAt: 1 })
      const refused: [JoinRequestInput, number][] = [
        [{ ...longest, id: nodeId(2), name: `${longest.name}n` }, 2],
        [{ ...longest, id: nodeId(2), addr: `${longest.addr}a` }, 2],
        [{ ...longest, id: nodeId(2), host: `${longest.host}h` }, 2],
        [{ ...longest, id: 'AB'.repeat(32) }, 2],
        [{ ...longest, id: nodeId(2).slice(1) }, 2],
        [{ ...longest, id: nodeId(2) }, 2.5],
        [{ ...longest, id: nodeId(2) }, Number.NaN],
      ]
      for (const [r, now] of refused) {
        assert.throws(() => store.joins.request(r, now), JoinRequestError)
      }
      // A refresh out of bounds leaves the stored request as it was.
      assert.throws(
        () => store.joins.request({ ...longest, name: `${longest.name}n` }, 3),
        JoinRequestError,
      )
      assert.deepEqual(store.joins.list(), [{ ...longest, firstAt: 1, lastAt: 1 }])
      assert.throws(() => store.joins.deny('not an id', 4), JoinRequestError)
      assert.ok(new JoinRequestError('x') instanceof RangeError)
    })
  })

  it("joins the caller's transaction: rolled back with it", () => {
    withStore((store) => {
      assert.throws(
        () =>
          store.transaction(() => {
            store.joins.request(req(1), 1)
            store.joins.deny(nodeId(2), 1)
            throw new Error('the caller failed')
          }),
        /the caller failed/,
      )
      assert.deepEqual(store.joins.list(), [])
      assert.equal(store.joins.deniedAt(nodeId(2)), null)
      store.transaction(() => store.joins.request(req(1), 1))
      assert.equal(store.joins.list().length, 1)
    })
  })

  it('a database from before the join tables gains them when opened', () => {
    const dir = temp.dir()
    const file = join(dir, 'tally.db')
    const raw = new Database(file)
    migrate(raw, 2)
    raw.prepare(`INSERT INTO settings (key, value) VALUES ('kept', '"yes"')`).run()
    const tables = raw.prepare(`SELECT name FROM sqlite_master WHERE name LIKE 'join%'`).all()
    assert.deepEqual(tables, [])
    raw.close()
    const store = openIn(dir)
    try {
      assert.equal(store.joins.request(req(1), 1), 'added')
      assert.equal(store.getSetting('kept'), 'yes')
    } finally {
      store.close()
    }
    const check = new Database(file, { readonly: true })
    assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION)
    check.close()
  })
})
