/**
 * The desktop app's core (core/cli/desktop-core.ts) in a real child process, reached the way the
 * window reaches it: the renderer's `PortTransport` on a MessagePort, with main's messages over
 * the parent port. Only Electron's transport of those ports is stood in for
 * (parent-port-shim.ts); the node, its SQLite file, its API and the bridge are the real ones.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  CORE_EXIT_FATAL,
  type CoreStatusMessage,
  type CoreToMain,
} from '../../../core/api/desktop-protocol.ts'
import type { EntryView, EventMessage, SetupView } from '../../../core/api/types.ts'
import { PortTransport } from '../../../renderer/src/api/port-transport.ts'
import type { LinkState } from '../../../renderer/src/api/transport.ts'
import { until } from '../api/helpers.ts'
import { Core } from './core-process.ts'

const isStatus =
  (kind: 'setup' | 'member') =>
  (m: CoreToMain): m is CoreStatusMessage =>
    m.type === 'status' && m.status.kind === kind

describe('the desktop core in its own process, over the port', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-desktop-core-'))
  const dataDir = join(dir, 'node')
  let core: Core
  let transport: PortTransport
  const events: EventMessage[] = []
  const links: LinkState[] = []

  before(() => {
    core = new Core(dataDir)
    transport = new PortTransport(core.connect())
  })
  after(async () => {
    transport.close()
    core.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers a port handed over while the node was still starting, and tells main it is ready', async () => {
    // The port went over before the node was up: the core held it until it was.
    const setup = await transport.request({ method: 'GET', path: '/api/setup' })
    assert.equal(setup.status, 200)
    assert.equal((setup.body as SetupView).state, 'no-ledger')
    const ready = await core.heard(
      'ready',
      (m): m is Extract<CoreToMain, { type: 'ready' }> => m.type === 'ready',
    )
    assert.equal(ready.dataDir, dataDir)
    const status = await core.heard('the first figures', isStatus('setup'))
    assert.deepEqual(status.status, { kind: 'setup', setup: 'no-ledger' })
  })

  it('creates a ledger, commits an entry submitted over the port, and streams it, as the window would', async () => {
    transport.listen({ message: (m) => events.push(m), link: (l) => links.push(l) })
    await until('the stream to open', () => links.some((l) => l.state === 'open'), 30_000)
    const created = await transport.request({
      method: 'POST',
      path: '/api/ledger',
      body: { name: 'Desk ledger' },
    })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    const member = await core.heard('member figures', isStatus('member'))
    assert.equal(member.status.kind === 'member' && member.status.ledgerName, 'Desk ledger')

    const key = 'desktop-core-test-1'
    const body = { from: '@bank', to: 'alice', asset: 'EUR', amount: 1250, memo: 'over the port' }
    const submitted = await transport.request({
      method: 'POST',
      path: '/api/entries',
      body,
      headers: { 'idempotency-key': key },
    })
    assert.equal(submitted.status, 202, JSON.stringify(submitted.body))
    const id = (submitted.body as { id: string }).id
    await until(
      'the entry to commit',
      () =>
        events.some(
          (e) => e.type === 'entry' && e.entry.id === id && e.entry.status === 'committed',
        ),
      30_000,
    )
    const read = await transport.request({ method: 'GET', path: `/api/entries/${id}` })
    assert.equal((read.body as EntryView).status, 'committed')
    // The same key again is the same entry: the port goes through the API's idempotency.
    const again = await transport.request({
      method: 'POST',
      path: '/api/entries',
      body,
      headers: { 'idempotency-key': key },
    })
    assert.equal((again.body as { id: string }).id, id)
    // And the tray's figures move with the ledger.
    await until(
      'the figures to show the height',
      () =>
        core.told.some(
          (m) => m.type === 'status' && m.status.kind === 'member' && m.status.height >= 1,
        ),
      30_000,
    )
  })

  it('refuses to open a data folder another core holds: says why and exits with the code main does not restart', async () => {
    const second = new Core(dataDir)
    const code = await second.exited
    assert.equal(code, CORE_EXIT_FATAL, second.stderr)
    const fatal = second.told.find((m) => m.type === 'fatal')
    assert.ok(
      fatal !== undefined && fatal.type === 'fatal' && fatal.error.length > 0,
      second.stderr,
    )
    // The first core was not disturbed.
    const status = await transport.request({ method: 'GET', path: '/api/status' })
    assert.equal(status.status, 200)
  })

  it('on stop, stops its node cleanly and exits 0, leaving the folder to the next start', async () => {
    core.stop()
    assert.equal(await core.exited, 0, core.stderr)
    assert.equal(
      existsSync(join(dataDir, 'api.json')),
      false,
      'api.json is removed on a clean stop',
    )
    const next = new Core(dataDir)
    try {
      const status = await next.heard('member figures after a restart', isStatus('member'))
      assert.equal(status.status.kind === 'member' && status.status.height >= 1, true)
    } finally {
      next.stop()
      assert.equal(await next.exited, 0, next.stderr)
    }
  })
})
