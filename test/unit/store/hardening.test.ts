/**
 * What the store must not do under a bad day or a hostile peer: leave the key's database or its
 * log readable by others, grow its peer table with every key a stranger makes up, write half a
 * vote slot without a word, or make a lost vote log afresh for a node that has voted.
 */
import assert from 'node:assert/strict'
import { chmodSync, closeSync, existsSync, openSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { isNewDatabase, openVoteLog, StoreError, VoteLog } from '../../../core/store/index.ts'
import { MAX_ADDR_CHARS, MAX_KNOWN_PEERS, MAX_PEER_ADDRS } from '../../../core/store/store.ts'
import { writeFully } from '../../../core/store/write-fully.ts'
import { commitBlock, newChain, openIn, tempDirs } from './helpers.ts'

const temp = tempDirs()
after(() => temp.cleanup())

function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of readdirSync(dir).filter((n) => n.startsWith('tally.db'))) {
    out[name] = (statSync(join(dir, name)).mode & 0o777).toString(8)
  }
  return out
}

describe('file modes', () => {
  it('a new database and the log files SQLite makes beside it are never readable by others', () => {
    const dir = temp.dir()
    const s = openIn(dir)
    s.setMeta('node-seed', new Uint8Array(32).fill(1))
    // While the store is open, its write-ahead log holds the key too.
    const open = modes(dir)
    assert.ok('tally.db-wal' in open, `no -wal file to check: ${JSON.stringify(open)}`)
    for (const [name, mode] of Object.entries(open)) assert.equal(mode, '600', name)
    s.close()
  })

  it('a database copied in readable by others is made private, its log files too', () => {
    const dir = temp.dir()
    openIn(dir).close()
    const file = join(dir, 'tally.db')
    chmodSync(file, 0o644)
    // A -wal left by a crash of an older version, made with the mode the database had then.
    closeSync(openSync(`${file}-wal`, 'w', 0o644))
    chmodSync(`${file}-wal`, 0o644)
    const s = openIn(dir)
    s.setMeta('x', new Uint8Array([1]))
    for (const [name, mode] of Object.entries(modes(dir))) assert.equal(mode, '600', name)
    s.close()
  })
})

describe('remembered peers', () => {
  it('keeps the most recently seen peers up to the bound, however many connect', () => {
    const s = openIn(temp.dir())
    s.transaction(() => {
      for (let i = 0; i < MAX_KNOWN_PEERS + 300; i++) {
        s.rememberPeer(`p${i}`, [`/ip4/10.0.${i >> 8}.${i & 255}/tcp/1`], 1000 + i)
      }
    })
    const peers = s.peers()
    assert.equal(peers.length, MAX_KNOWN_PEERS)
    assert.equal(peers[0]!.id, `p${MAX_KNOWN_PEERS + 299}`)
    assert.ok(!peers.some((p) => p.id === 'p0'), 'the peer seen longest ago went')
    s.close()
  })

  it('keeps at most the first (newest) addresses of a peer, each of a plausible length', () => {
    const s = openIn(temp.dir())
    const addrs = Array.from({ length: MAX_PEER_ADDRS + 10 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`)
    const long = `/dns4/${'x'.repeat(MAX_ADDR_CHARS)}/tcp/1`
    s.rememberPeer('p', [long, addrs[0]!, ...addrs], 1)
    const [peer] = s.peers()
    assert.deepEqual(peer!.addrs, addrs.slice(0, MAX_PEER_ADDRS))
    s.close()
  })
})

describe('opening the vote log beside its database', () => {
  function node() {
    const dir = temp.dir()
    return { dir, store: openIn(dir) }
  }

  it('makes the log for a new database, and marks the database as having one', () => {
    const { dir, store } = node()
    assert.equal(isNewDatabase(store), true)
    openVoteLog(store, dir).close()
    assert.ok(existsSync(join(dir, 'votes.0')) && existsSync(join(dir, 'votes.1')))
    assert.equal(isNewDatabase(store), false)
    openVoteLog(store, dir).close()
    store.close()
  })

  it('refuses a database that had a log when the log is gone, even before its first block', () => {
    const { dir, store } = node()
    const log = openVoteLog(store, dir)
    log.write(new Uint8Array([1, 2, 3]))
    log.close()
    for (const f of ['votes.0', 'votes.1']) rmSync(join(dir, f))
    assert.throws(
      () => openVoteLog(store, dir),
      (e: unknown) => e instanceof StoreError && e.message.includes(join(dir, 'votes.0')),
    )
    assert.equal(existsSync(join(dir, 'votes.0')), false)
    store.close()
  })

  it('refuses a database with blocks and no log (a folder restored without votes.*)', () => {
    const { dir, store } = node()
    commitBlock(store, newChain(), [])
    assert.throws(() => openVoteLog(store, dir), StoreError)
    store.close()
  })

  it('opens a log whose database has blocks but no mark yet (made by a version before the mark)', () => {
    const { dir, store } = node()
    VoteLog.open(dir, { create: true }).close()
    commitBlock(store, newChain(), [])
    openVoteLog(store, dir).close()
    assert.equal(isNewDatabase(store), false)
    store.close()
  })
})

describe('writeFully', () => {
  it('loops over short writes until every byte is at its place', () => {
    const disk = new Uint8Array(20)
    const data = Uint8Array.from({ length: 13 }, (_, i) => i + 1)
    let calls = 0
    writeFully(0, data, 5, (_fd, buffer, offset, length, position) => {
      calls++
      const n = Math.min(length, 3)
      disk.set(buffer.subarray(offset, offset + n), position)
      return n
    })
    assert.equal(calls, 5)
    assert.deepEqual(disk.subarray(5, 18), data)
  })

  it('throws when a write makes no progress, rather than spin or stop short silently', () => {
    let calls = 0
    assert.throws(
      () =>
        writeFully(0, new Uint8Array(10), 0, () => {
          calls++
          return calls === 1 ? 4 : 0
        }),
      /no progress after 4 of 10 bytes/,
    )
  })
})
