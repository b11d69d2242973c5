/**
 * What the dashboard reads besides entries: the assets in the status, each validator's recent
 * votes in the peers, the failed rounds in the rounds view, the settings (from a node and from
 * a machine without a ledger), and the event stream as a browser page opens it.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import { startApi } from '../../../core/api/server.ts'
import type {
  EventMessage,
  MemberView,
  PeerView,
  RoundsView,
  SettingsView,
  StatusView,
} from '../../../core/api/types.ts'
import { roundsView } from '../../../core/api/views.ts'
import { LAN_TIMING } from '../../../core/consensus/timing.ts'
import { Machine } from '../../../core/node/index.ts'
import { startTestApi, type TestApi, TOKEN, transfer } from './helpers.ts'

describe('a node of three, two of them never running', () => {
  let t: TestApi

  before(async () => {
    t = await startTestApi({
      assets: [
        { code: 'JPY', decimals: 0 },
        { code: 'BTC', decimals: 8 },
      ],
    })
  })
  after(() => t.close())

  it('lists the genesis assets in its order, and the decimals of any other', async () => {
    const r = await t.call<StatusView>('GET', '/api/status')
    assert.equal(r.status, 200)
    assert.deepEqual(r.body.assets, [
      { code: 'JPY', decimals: 0 },
      { code: 'BTC', decimals: 8 },
    ])
    assert.equal(r.body.defaultDecimals, 2)
  })

  it('gives every validator a vote history, empty before any commit', async () => {
    const r = await t.call<{ peers: PeerView[] }>('GET', '/api/peers')
    assert.equal(r.body.peers.length, 3)
    for (const p of r.body.peers) assert.deepEqual(p.recentVotes, [])
  })

  it('names every member and peer by the short id people compare between machines', async () => {
    const short = /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/
    const peers = await t.call<{ peers: PeerView[] }>('GET', '/api/peers')
    const members = await t.call<{ members: MemberView[] }>('GET', '/api/members')
    assert.equal(members.body.members.length, 3)
    for (const p of [...peers.body.peers, ...members.body.members]) assert.match(p.shortId, short)
    const status = await t.call<StatusView>('GET', '/api/status')
    const self = peers.body.peers.find((p) => p.self)
    assert.equal(self?.shortId, status.body.shortId)
  })

  it('shows the rounds view with the failed rounds of the height being decided', async () => {
    const r = await t.call<RoundsView>('GET', '/api/rounds')
    assert.equal(r.status, 200)
    assert.deepEqual(r.body.failed, [])
    assert.deepEqual(r.body.recent, [])
  })

  it('answers its settings: the stored ones, where it and its API listen, its folder and timing', async () => {
    assert.equal((await t.call('GET', '/api/settings', undefined, null)).status, 401)
    assert.equal((await t.call('POST', '/api/settings', {})).status, 405)
    const r = await t.call<SettingsView>('GET', '/api/settings')
    assert.equal(r.status, 200)
    const s = r.body
    assert.equal(s.name, 'api-test')
    assert.equal(s.dataDir, t.dir)
    assert.deepEqual(s.listen, ['/ip4/127.0.0.1/tcp/0'])
    assert.ok(s.addrs.length > 0)
    assert.ok(
      s.addrs.every((a) => /^\/ip4\/127\.0\.0\.1\/tcp\/[1-9]\d*/.test(a)),
      s.addrs.join(' '),
    )
    assert.deepEqual(s.peers, [])
    // The port it listens on, not the setting (0 here: any free one).
    assert.notEqual(s.apiPort, 0)
    assert.equal(s.apiPort, Number(new URL(t.api.url).port))
    assert.equal(s.mdns, false)
    assert.deepEqual(s.timing, LAN_TIMING)
    assert.equal(s.pingIntervalMs, 2_000)
    assert.equal(s.pingTimeoutMs, 2_000)
  })

  it('greets a browser page on the event stream: token in the query, its origin sent', async () => {
    const url = `${t.api.url.replace('http', 'ws')}/api/events?token=${TOKEN}`
    const first = await new Promise<EventMessage>((resolve, reject) => {
      const ws = new WebSocket(url, { origin: t.api.url })
      ws.once('message', (data) => {
        ws.close()
        resolve(JSON.parse(String(data)) as EventMessage)
      })
      ws.once('error', reject)
    })
    assert.equal(first.type, 'hello')
    assert.ok(first.type === 'hello' && first.status.assets.length === 2)
  })
})

describe('a lone member', () => {
  let dir: string | undefined
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('shows the last 50 commits it signed, and again after a restart', async () => {
    const t = await startTestApi({ others: 0, keep: true })
    dir = t.dir
    try {
      // Each submission waits for its answer: a lone member commits it in a block of its own.
      for (let n = 0; n < 56; n++)
        assert.equal((await t.call('POST', '/api/entries', transfer(n))).status, 202)
      const status = await t.call<StatusView>('GET', '/api/status')
      assert.ok(status.body.height >= 56, `height ${status.body.height}`)
      const self = (await t.call<{ peers: PeerView[] }>('GET', '/api/peers')).body.peers[0]!
      assert.equal(self.self, true)
      assert.deepEqual(self.recentVotes, Array(50).fill(true))
      assert.equal(self.votedShare, 1)
      const rounds = await t.call<RoundsView>('GET', '/api/rounds')
      assert.ok(rounds.body.recent.length >= 56)
      assert.ok(rounds.body.recent.every((r) => r.outcome === 'committed' && r.failed.length === 0))
    } finally {
      await t.close()
    }
    // After a restart the window is filled again from the stored blocks.
    const again = await startTestApi({ dir, keep: true })
    try {
      const self = (await again.call<{ peers: PeerView[] }>('GET', '/api/peers')).body.peers[0]!
      assert.deepEqual(self.recentVotes, Array(50).fill(true))
    } finally {
      await again.close()
    }
  })
})

describe('a machine without a ledger', () => {
  it("answers its settings from the lobby, with this run's overrides", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-lobby-'))
    const machine = await Machine.start({
      dataDir: dir,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
    })
    const api = await startApi(machine, { port: 0, token: TOKEN })
    try {
      const res = await fetch(`${api.url}/api/settings`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
      assert.equal(res.status, 200)
      const s = (await res.json()) as SettingsView
      assert.equal(s.dataDir, dir)
      assert.ok(s.name.length > 0, 'the lobby names the machine')
      assert.deepEqual(s.listen, ['/ip4/127.0.0.1/tcp/0'])
      assert.equal(s.mdns, false)
      assert.equal(s.apiPort, Number(new URL(api.url).port))
      assert.ok(s.addrs.some((a) => /^\/ip4\/127\.0\.0\.1\/tcp\/[1-9]/.test(a)))
      assert.deepEqual(s.timing, LAN_TIMING)
      // The routes of a ledger still say there is none.
      const status = await fetch(`${api.url}/api/status`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
      assert.equal(status.status, 409)
    } finally {
      await api.close()
      await machine.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('roundsView', () => {
  it('maps the failed rounds of the current height and of each recent one', () => {
    const failed = {
      round: 0,
      step: 'precommit' as const,
      stalled: 'propose' as const,
      proposer: 'a'.repeat(64),
      reason: 'no proposal from m1 in time',
    }
    const v = roundsView({
      height: 4,
      round: 1,
      step: 'prevote',
      proposer: 'b'.repeat(64),
      votes: [],
      recent: [
        {
          height: 3,
          round: 1,
          proposer: 'b'.repeat(64),
          entries: 0,
          durationMs: 10,
          outcome: 'committed',
          time: 1,
          failed: [failed],
        },
      ],
      failed: [failed],
    })
    assert.deepEqual(v.failed, [failed])
    assert.deepEqual(v.recent[0]!.failed, [failed])
    assert.deepEqual(JSON.parse(JSON.stringify(v)), v)
  })
})
