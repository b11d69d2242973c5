import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PeerView } from '../../../core/api/types.ts'
import {
  groupPeers,
  peerName,
  peerState,
  quorumNeed,
  syncPercent,
  voteSummary,
} from '../../../renderer/src/state/peer-state.ts'

const NOW = 1_700_000_000_000

function peer(over: Partial<PeerView>): PeerView {
  return {
    id: 'aa'.repeat(32),
    shortId: 'VKVK-VKVK-VKVK',
    name: 'bob',
    self: false,
    member: true,
    connected: true,
    since: NOW - 60_000,
    latencyMs: 3,
    lastMessage: NOW - 1000,
    height: 100,
    votedShare: 1,
    recentVotes: [],
    addrs: [],
    score: 0,
    ...over,
  }
}

test('a connected peer within two heights of ours is online', () => {
  assert.equal(peerState(peer({ height: 98 }), 100, NOW).kind, 'online')
  assert.equal(peerState(peer({ height: 100 }), 100, NOW).label, 'online')
})

test('a connected peer that has not reported a height yet is online, not syncing', () => {
  assert.equal(peerState(peer({ height: null }), 100, NOW).kind, 'online')
})

test('a connected peer more than two heights behind is syncing, its share rounded down', () => {
  const s = peerState(peer({ height: 97 }), 100, NOW)
  assert.equal(s.kind, 'syncing')
  assert.equal(s.percent, 97)
  assert.equal(s.label, 'syncing 97%')
  assert.equal(peerState(peer({ height: 1 }), 300, NOW).label, 'syncing 0%')
})

test('syncing never shows 100% while a block is missing', () => {
  assert.equal(syncPercent(9999, 10000), 99)
  assert.equal(syncPercent(5, 0), 0)
})

test('a disconnected peer is offline with how long ago and the clock time it was last seen', () => {
  const s = peerState(peer({ connected: false, since: NOW - 12_000 }), 100, NOW)
  assert.equal(s.kind, 'offline')
  assert.equal(s.tone, 'bad')
  assert.match(s.label, /^offline — last seen 12 s ago \(\d{1,2}:\d{2}:\d{2}\)$/)
})

test('the offline label moves with the clock it is given', () => {
  const p = peer({ connected: false, since: NOW - 12_000 })
  assert.match(peerState(p, 100, NOW + 60_000).label, /last seen 1 min ago/)
})

test('a peer neither connected nor ever seen is "never seen"', () => {
  const s = peerState(peer({ connected: false, since: null, height: null }), 100, NOW)
  assert.equal(s.kind, 'never')
  assert.equal(s.label, 'never seen')
})

test('this machine is online even with no peer connected', () => {
  const me = peer({ self: true, connected: false, since: null, height: null })
  assert.equal(peerState(me, 100, NOW, [me]).kind, 'online')
})

test('this machine is syncing when a connected peer reports heights well ahead of ours', () => {
  const me = peer({ self: true, connected: false, id: 'me' })
  const ahead = peer({ id: 'other', height: 200 })
  const s = peerState(me, 50, NOW, [me, ahead])
  assert.equal(s.kind, 'syncing')
  assert.equal(s.percent, 25)
  // A disconnected peer's stale height says nothing about where the ledger is now.
  assert.equal(peerState(me, 50, NOW, [me, { ...ahead, connected: false }]).kind, 'online')
})

test('the vote summary counts the commits voted in, out of those known', () => {
  const votes = [...Array.from({ length: 48 }, () => true), false, false]
  assert.deepEqual(voteSummary(votes), {
    voted: 48,
    total: 50,
    text: 'voted 48 of the last 50 commits',
  })
  assert.equal(voteSummary([true]).text, 'voted 1 of the last commit')
  assert.equal(voteSummary([]).text, 'no commits to count yet')
})

test('members come with this machine first, then by name; strangers only while connected', () => {
  const me = peer({ id: 'm', name: 'zed', self: true })
  const a = peer({ id: 'a', name: 'alice' })
  const b = peer({ id: 'b', name: 'bob', connected: false })
  const joiner = peer({ id: 'j', name: '', member: false })
  const gone = peer({ id: 'g', name: '', member: false, connected: false })
  const g = groupPeers([b, joiner, a, gone, me])
  assert.deepEqual(
    g.members.map((p) => p.id),
    ['m', 'a', 'b'],
  )
  assert.deepEqual(
    g.others.map((p) => p.id),
    ['j'],
  )
})

test('a peer without a name is called by its short id', () => {
  assert.equal(peerName({ shortId: 'MFRG-GZDF-MZTW', name: '' }), 'MFRG-GZDF-MZTW')
  assert.equal(peerName({ shortId: 'MFRG-GZDF-MZTW', name: 'front desk' }), 'front desk')
})

test('the quorum size is said as how many of how many must take part', () => {
  assert.equal(quorumNeed({ quorum: 2, members: 3 }), '2 of 3 needed to commit')
})
