/**
 * `tally demo`'s keys and its data folder. The nodes themselves are tested end to end in
 * test/e2e/demo.test.ts.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { keyAction, prepareDemoDir, TOKEN_FILE } from '../../../core/cli/demo-command.ts'

describe('tally demo keys', () => {
  it('1 2 3 stop or start node0..node2 with SIGTERM; Shift (! @ #) with SIGKILL', () => {
    assert.deepEqual(keyAction('1'), { kind: 'toggle', node: 0, signal: 'SIGTERM' })
    assert.deepEqual(keyAction('3'), { kind: 'toggle', node: 2, signal: 'SIGTERM' })
    assert.deepEqual(keyAction('!'), { kind: 'toggle', node: 0, signal: 'SIGKILL' })
    assert.deepEqual(keyAction('@'), { kind: 'toggle', node: 1, signal: 'SIGKILL' })
    assert.deepEqual(keyAction('#'), { kind: 'toggle', node: 2, signal: 'SIGKILL' })
  })

  it('q, Ctrl-C and Ctrl-D quit (raw mode turns Ctrl-C into a byte, not a signal)', () => {
    for (const k of ['q', 'Q', '\u0003', '\u0004']) assert.deepEqual(keyAction(k), { kind: 'quit' })
  })

  it('s prints the state; keys for nodes that do not exist do nothing', () => {
    assert.deepEqual(keyAction('s'), { kind: 'state' })
    assert.equal(keyAction('4'), null)
    assert.equal(keyAction('0'), null)
    assert.equal(keyAction('$'), null)
    assert.equal(keyAction('x'), null)
  })
})

describe('the demo data folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'tally-demo-unit-'))
  after(() => rmSync(root, { recursive: true, force: true }))

  it('is made once with a token file per node, then reused; --fresh makes a new ledger', () => {
    const dir = join(root, 'demo')
    assert.equal(prepareDemoDir(dir, false, 40_000), true)
    const token = readFileSync(join(dir, 'node1', TOKEN_FILE), 'utf8').trim()
    assert.match(token, /^[0-9a-f]{64}$/)
    assert.equal(prepareDemoDir(dir, false, 40_000), false)
    assert.equal(readFileSync(join(dir, 'node1', TOKEN_FILE), 'utf8').trim(), token)
    assert.equal(prepareDemoDir(dir, true, 40_000), true)
    assert.notEqual(readFileSync(join(dir, 'node1', TOKEN_FILE), 'utf8').trim(), token)
  })

  it('refuses a folder it did not make, and never deletes it, --fresh or not', () => {
    const dir = join(root, 'mine')
    mkdirSync(dir)
    writeFileSync(join(dir, 'notes.txt'), 'keep me')
    assert.throws(() => prepareDemoDir(dir, true, 40_000), /not made by tally demo/)
    assert.throws(() => prepareDemoDir(dir, false, 40_000), /not made by tally demo/)
    assert.ok(existsSync(join(dir, 'notes.txt')))
  })
})
