import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import { Store, StoreError } from '../../../core/store/index.ts'
import { commitBlock, newChain, tempDirs, transferEntry } from './helpers.ts'

const temp = tempDirs()
after(() => temp.cleanup())

/** Every byte of every file in the folder, to show that a refused open wrote nothing. */
function snapshot(dir: string): Map<string, Buffer | 'folder'> {
  return new Map(
    readdirSync(dir).map((name) => {
      const path = join(dir, name)
      return [name, statSync(path).isDirectory() ? 'folder' : readFileSync(path)]
    }),
  )
}

function refusesUntouched(file: string, message: RegExp): StoreError {
  const dir = join(file, '..')
  const before = snapshot(dir)
  let caught: unknown
  try {
    Store.open(file).close()
  } catch (e) {
    caught = e
  }
  assert.ok(caught instanceof StoreError, `expected a StoreError, got ${String(caught)}`)
  assert.ok(caught.message.includes(file), `the message names the file: ${caught.message}`)
  assert.match(caught.message, message)
  assert.deepEqual(snapshot(dir), before, 'the folder is byte for byte as it was')
  return caught
}

/** A closed database at `file` holding a block, entries, meta, settings and a peer. */
function populated(file: string) {
  const s = Store.open(file)
  const chain = newChain()
  const committed = transferEntry(chain, 1, { memo: 'committed' })
  const waiting = transferEntry(chain, 2, { memo: 'waiting' })
  s.putEntry(committed, true, 10)
  s.putEntry(waiting, false, 20)
  const { block, commit } = commitBlock(s, chain, [committed], 30)
  s.setMeta('node-seed', new Uint8Array(32).fill(9))
  s.setSetting('listen', ['/ip4/127.0.0.1/tcp/0'])
  s.rememberPeer('peer-a', ['/ip4/10.0.0.1/tcp/4001'], 40)
  s.close()
  return { chain, committed, waiting, block, commit }
}

describe('opening', () => {
  it('creates the file and its missing folders, in write-ahead-log mode', () => {
    const file = join(temp.dir(), 'a', 'b', 'tally.db')
    const s = Store.open(file)
    assert.equal(s.file, file)
    assert.equal(s.height(), 0)
    s.close()
    s.close()
    // Bytes 18 and 19 of the header are 2 for a database in WAL mode.
    const header = readFileSync(file).subarray(0, 20)
    assert.equal(header.subarray(0, 15).toString(), 'SQLite format 3')
    assert.deepEqual([header[18], header[19]], [2, 2])
  })

  it('keeps blocks, entries, meta, settings and peers across close and reopen', () => {
    const file = join(temp.dir(), 'tally.db')
    const { committed, waiting, block, commit } = populated(file)
    const s = Store.open(file)
    assert.equal(s.height(), 1)
    assert.deepEqual(s.block(1), { block, commit })
    const c = s.entry(committed.id)!
    assert.deepEqual(
      [c.entry, c.status, c.height, c.local, c.received],
      [committed, 'committed', 1, true, 10],
    )
    const w = s.entry(waiting.id)!
    assert.deepEqual([w.entry, w.status, w.local, w.received], [waiting, 'relayed', false, 20])
    assert.deepEqual(s.pendingEntries(), [waiting])
    assert.deepEqual(s.getMeta('node-seed'), new Uint8Array(32).fill(9))
    assert.deepEqual(s.settings(), { listen: ['/ip4/127.0.0.1/tcp/0'] })
    assert.deepEqual(s.peers(), [{ id: 'peer-a', addrs: ['/ip4/10.0.0.1/tcp/4001'], lastSeen: 40 }])
    // Arrival order carries on after a restart, so cursors stay valid.
    const later = transferEntry(newChain(), 3)
    s.putEntry(later, true, 50)
    assert.ok(s.entry(later.id)!.seq > w.seq)
    s.close()
  })

  it('refuses a file of garbage bytes, naming it, and leaves it as it was', () => {
    const dir = temp.dir()
    const file = join(dir, 'tally.db')
    writeFileSync(file, Buffer.from('these are not the bytes of a database, '.repeat(200)))
    const e = refusesUntouched(file, /file is not a database/)
    assert.match(e.message, /left as it is; move it aside/)
  })

  it('refuses a database whose pages are damaged, and leaves it as it was', () => {
    const file = join(temp.dir(), 'tally.db')
    const s = Store.open(file)
    s.transaction(() => {
      for (let i = 0; i < 2000; i++) s.setSetting(`k${i}`, { i, pad: 'x'.repeat(100) })
    })
    s.close()
    const bytes = readFileSync(file)
    const page = 4096
    bytes.fill(0xa5, page * 3 + 100, page * 3 + 400)
    writeFileSync(file, bytes)
    refusesUntouched(file, /integrity check failed \(.*page/)
  })

  it('refuses a database from a newer schema version', () => {
    const file = join(temp.dir(), 'tally.db')
    populated(file)
    const raw = new Database(file)
    raw.pragma('user_version = 99')
    raw.close()
    refusesUntouched(file, /schema version 99, newer than the \d+ this Tally knows/)
  })

  it('refuses an SQLite database of something else', () => {
    const file = join(temp.dir(), 'tally.db')
    const raw = new Database(file)
    raw.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)')
    raw.close()
    refusesUntouched(file, /not a Tally ledger database/)
    const other = join(temp.dir(), 'tally.db')
    const app = new Database(other)
    app.pragma('application_id = 1234')
    app.exec('CREATE TABLE t (x)')
    app.close()
    refusesUntouched(other, /belongs to another application/)
  })

  it('refuses a path that is a folder', () => {
    const file = join(temp.dir(), 'tally.db')
    mkdirSync(file)
    const e = refusesUntouched(file, /cannot open the ledger database/)
    assert.doesNotMatch(
      e.message,
      /move it aside/,
      'nothing is wrong with a file that is not there',
    )
  })

  it('refuses a second opening while the database is in use, and allows it after close', () => {
    const file = join(temp.dir(), 'tally.db')
    const first = Store.open(file)
    first.setMeta('node-seed', new Uint8Array([1]))
    assert.throws(
      () => Store.open(file),
      (e: unknown) =>
        e instanceof StoreError &&
        e.message.includes(file) &&
        /in use by another process/.test(e.message),
    )
    assert.deepEqual(first.getMeta('node-seed'), new Uint8Array([1]), 'the first is unharmed')
    first.close()
    const second = Store.open(file)
    assert.deepEqual(second.getMeta('node-seed'), new Uint8Array([1]))
    second.close()
  })
})

describe('durability', () => {
  it('keeps what was committed before a SIGKILL, and nothing of the transaction it cut short', () => {
    const file = join(temp.dir(), 'tally.db')
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'commit-then-kill.ts'), file],
      { encoding: 'utf8', timeout: 30_000 },
    )
    assert.equal(child.signal, 'SIGKILL', `the child died by SIGKILL: ${child.stderr}`)
    // The commits live only in the log: nothing checkpointed them into the main file.
    assert.ok(existsSync(`${file}-wal`) && statSync(`${file}-wal`).size > 0, 'the log is there')

    const s = Store.open(file)
    const chain = newChain()
    const acknowledged = transferEntry(chain, 1, { memo: 'acknowledged' })
    const inBlock = transferEntry(chain, 2)
    const cutShort = transferEntry(chain, 3, { memo: 'never acknowledged' })
    assert.equal(s.entry(acknowledged.id)?.status, 'submitted')
    assert.deepEqual(s.getMeta('wal'), new Uint8Array([1, 2, 3]))
    assert.equal(s.height(), 1)
    assert.equal(s.entry(inBlock.id)?.status, 'committed')
    assert.equal(s.entry(cutShort.id), null)
    assert.deepEqual(s.pendingEntries(), [acknowledged])
    s.close()
  })
})
