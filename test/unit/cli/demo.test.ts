/**
 * `tally demo`'s keys and its data folder. The nodes themselves are tested end to end in
 * test/e2e/demo.test.ts.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  demoMark,
  keyAction,
  MARK,
  prepareDemoDir,
  stopLeftovers,
  TOKEN_FILE,
} from '../../../core/cli/demo-command.ts'
import { API_FILE, runNode, tokenFrom } from '../../../core/cli/node-command.ts'
import { DB_FILE } from '../../../core/node/node.ts'

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

  it('checks its marker by content: a file of that name with anything else is not it', () => {
    const dir = join(root, 'marked')
    prepareDemoDir(dir, false, 40_000)
    assert.equal(demoMark(dir), 'current')
    assert.deepEqual(JSON.parse(readFileSync(join(dir, MARK), 'utf8')), {
      madeBy: 'tally demo',
      version: 1,
      nodes: 3,
      basePort: 40_000,
    })
    writeFileSync(join(dir, MARK), '{"madeBy":"someone else","version":1}\n')
    assert.equal(demoMark(dir), null)
    assert.throws(() => prepareDemoDir(dir, true, 40_000), /not made by tally demo/)
    assert.ok(existsSync(join(dir, 'node0', DB_FILE)))
  })

  it('refuses, with --fresh too, a folder whose demo.json it did not write, and deletes nothing', () => {
    const dir = join(root, 'foreign')
    mkdirSync(join(dir, 'node0'), { recursive: true })
    writeFileSync(join(dir, 'demo.json'), '{"name":"my demo","nodes":3}\n')
    writeFileSync(join(dir, 'notes.txt'), 'keep me')
    writeFileSync(join(dir, 'node0', 'work.txt'), 'keep me too')
    assert.throws(
      () => prepareDemoDir(dir, true, 40_000),
      /not made by tally demo.*nothing was deleted/,
    )
    assert.deepEqual(readdirSync(dir).sort(), ['demo.json', 'node0', 'notes.txt'])
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'keep me')
    assert.equal(readFileSync(join(dir, 'node0', 'work.txt'), 'utf8'), 'keep me too')
  })

  it('--fresh renews a demo folder, deleting only node0..node2, and keeps what else is in it', () => {
    const dir = join(root, 'renewed')
    prepareDemoDir(dir, false, 40_000)
    const token = readFileSync(join(dir, 'node0', TOKEN_FILE), 'utf8')
    writeFileSync(join(dir, 'stray.txt'), 'mine')
    mkdirSync(join(dir, 'mine'))
    writeFileSync(join(dir, 'mine', 'a.txt'), 'mine too')
    assert.equal(prepareDemoDir(dir, true, 40_000), true)
    assert.notEqual(readFileSync(join(dir, 'node0', TOKEN_FILE), 'utf8'), token)
    assert.equal(readFileSync(join(dir, 'stray.txt'), 'utf8'), 'mine')
    assert.equal(readFileSync(join(dir, 'mine', 'a.txt'), 'utf8'), 'mine too')
    assert.equal(demoMark(dir), 'current')
    for (const i of [0, 1, 2]) assert.ok(existsSync(join(dir, `node${i}`, DB_FILE)))
  })

  it('takes a folder of the first version (its demo.json exactly as it wrote it) and marks it', () => {
    const dir = join(root, 'legacy')
    prepareDemoDir(dir, false, 40_000)
    const token = readFileSync(join(dir, 'node2', TOKEN_FILE), 'utf8')
    // What the first version left: demo.json and no new marker.
    rmSync(join(dir, MARK))
    writeFileSync(join(dir, 'demo.json'), '{"nodes":3,"basePort":40000}\n')
    assert.equal(demoMark(dir), 'legacy')
    assert.equal(prepareDemoDir(dir, false, 41_000), false)
    assert.equal(readFileSync(join(dir, 'node2', TOKEN_FILE), 'utf8'), token)
    assert.equal(demoMark(dir), 'current')
    assert.equal(JSON.parse(readFileSync(join(dir, MARK), 'utf8')).basePort, 40_000)
    assert.ok(!existsSync(join(dir, 'demo.json')))

    // Anything more or less in that demo.json, and it is someone else's.
    rmSync(join(dir, MARK))
    writeFileSync(join(dir, 'demo.json'), '{"nodes":3,"basePort":40000,"x":1}\n')
    assert.equal(demoMark(dir), null)
    writeFileSync(join(dir, 'demo.json'), '{"nodes":3,"basePort":40000}')
    assert.equal(demoMark(dir), null)
  })

  it('stops nodes an earlier demo left only in a folder with its marker', async () => {
    const dir = join(root, 'leftovers')
    mkdirSync(join(dir, 'node0'), { recursive: true })
    const nodeDir = join(dir, 'node0')
    // A process whose command line looks like `tally node --data <dir>/node0`.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'node', nodeDir], {
      stdio: 'ignore',
    })
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_, s) => r(s)))
    try {
      await new Promise((r) => child.once('spawn', r))
      writeFileSync(join(nodeDir, API_FILE), JSON.stringify({ pid: child.pid }))
      const said: string[] = []
      // Someone's own testnet in that folder: not the demo's to stop.
      stopLeftovers(dir, (l) => said.push(l))
      assert.equal(said.length, 0)
      assert.ok(child.exitCode === null && child.signalCode === null, 'a foreign node was killed')
      // The demo's folder: its leftover is killed.
      writeFileSync(join(dir, MARK), '{"madeBy":"tally demo","version":1}\n')
      stopLeftovers(dir, (l) => said.push(l))
      assert.equal(await exited, 'SIGKILL')
      assert.match(said[0] ?? '', /node0 was left running/)
    } finally {
      child.kill('SIGKILL')
    }
  })
})

describe('tally node --token-file', () => {
  const root = mkdtempSync(join(tmpdir(), 'tally-token-unit-'))
  after(() => rmSync(root, { recursive: true, force: true }))

  it('warns, without refusing, when other users can read the file', () => {
    const file = join(root, 'token')
    writeFileSync(file, `${'a'.repeat(64)}\n`)
    chmodSync(file, 0o644)
    const warned: string[] = []
    assert.equal(
      tokenFrom(file, (l) => warned.push(l)),
      'a'.repeat(64),
    )
    assert.equal(warned.length, 1)
    assert.match(warned[0]!, /other users \(mode 644\)/)
    chmodSync(file, 0o600)
    warned.length = 0
    assert.equal(
      tokenFrom(file, (l) => warned.push(l)),
      'a'.repeat(64),
    )
    assert.deepEqual(warned, [])
  })

  it('a bad file is refused before the machine starts, which leaves the data folder untouched', async () => {
    const data = join(root, 'data')
    mkdirSync(data)
    const bad = join(root, 'short')
    writeFileSync(bad, 'short\n', { mode: 0o600 })
    await assert.rejects(runNode({ data, 'token-file': bad, 'no-mdns': true }), /--token-file/)
    await assert.rejects(
      runNode({ data, 'token-file': join(root, 'missing'), 'no-mdns': true }),
      /--token-file: ENOENT/,
    )
    assert.deepEqual(readdirSync(data), [])
  })
})
