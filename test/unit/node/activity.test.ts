/**
 * Each validator's recent votes, as the peers view shows them: the last 50 commits recorded in
 * blocks, oldest first, voted or missed; nothing for a peer that is not a validator. And the
 * settings a run goes by.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { initialState } from '../../../core/consensus/machine.ts'
import { LAN_TIMING } from '../../../core/consensus/timing.ts'
import { thresholdsFor } from '../../../core/ledger/quorum.ts'
import { LedgerState } from '../../../core/ledger/state.ts'
import type { Block, NodeId } from '../../../core/ledger/types.ts'
import type { PeerHealth } from '../../../core/net/host.ts'
import { ACTIVITY_WINDOW, Activity } from '../../../core/node/activity.ts'
import { RoundLog } from '../../../core/node/rounds.ts'
import { DEFAULT_SETTINGS, settingsInEffect } from '../../../core/node/settings.ts'
import { nodeStatus, peerInfos, type ViewSource } from '../../../core/node/views.ts'
import { keypairs, makeGenesis } from '../ledger/helpers.ts'

/** A block whose recorded last commit (of `height - 1`) was signed by `signers`. */
function blockSignedBy(height: number, signers: readonly NodeId[]): Block {
  return {
    header: { height } as Block['header'],
    entries: [],
    lastCommit: {
      height: height - 1,
      round: 0,
      blockHash: '0'.repeat(64),
      signatures: signers.map((validator) => ({ validator, signature: new Uint8Array(64) })),
    },
  }
}

/** What the views read of a node: one with `keys[0]` as itself, idle, over `genesis`. */
function viewSource(
  keys: ReturnType<typeof keypairs>,
  genesis: ReturnType<typeof makeGenesis>,
  over: Partial<ViewSource> = {},
): ViewSource {
  const state = LedgerState.fromGenesis(genesis)
  return {
    id: keys[0]!.id,
    genesis,
    name: 'me',
    state,
    consensus: initialState({
      ledger: state.ledger,
      signer: keys[0]!,
      thresholds: thresholdsFor('crash'),
      waitForWork: true,
    }),
    pending: 0,
    activity: new Activity(),
    rounds: new RoundLog(0, (id) => id),
    blockTime: () => null,
    connected: () => [],
    health: () => [],
    addrs: () => [],
    ...over,
  }
}

describe('activity', () => {
  const [a, b] = ['a'.repeat(64), 'b'.repeat(64)]

  it('keeps the last 50 commits, oldest first, voted or missed', () => {
    assert.equal(ACTIVITY_WINDOW, 50)
    const act = new Activity()
    assert.deepEqual(act.votes(a), [])
    assert.equal(act.votedShare(a), null)
    // Block 1 records no commit; blocks 2..61 record those of 1..60. b misses every third.
    act.committed({ ...blockSignedBy(1, []), lastCommit: null })
    for (let h = 2; h <= 61; h++) act.committed(blockSignedBy(h, h % 3 === 0 ? [a] : [a, b]))
    const votesB = act.votes(b)
    assert.equal(votesB.length, 50)
    // The window holds the commits recorded in blocks 12..61, oldest first.
    assert.deepEqual(
      votesB,
      Array.from({ length: 50 }, (_, i) => (12 + i) % 3 !== 0),
    )
    assert.deepEqual(act.votes(a), Array(50).fill(true))
    assert.equal(act.votedShare(b), votesB.filter(Boolean).length / 50)
    assert.equal(act.height(b), 60)
  })
})

describe('peer rows', () => {
  it('give each validator its recent votes, and a peer that is not one none', () => {
    const keys = keypairs(2)
    const genesis = makeGenesis(keys)
    const [me, other] = keys.map((k) => k.id) as [NodeId, NodeId]
    const stranger = 'c'.repeat(64)
    const activity = new Activity()
    activity.committed(blockSignedBy(2, [me, other]))
    activity.committed(blockSignedBy(3, [me]))
    // Even a stranger that somehow appears in a commit is shown no history.
    activity.committed(blockSignedBy(4, [me, other, stranger]))
    const health = (id: NodeId): PeerHealth => ({
      id,
      connected: true,
      since: 1,
      latencyMs: 1,
      lastMessage: 1,
      addrs: [],
      score: 0,
    })
    const src = viewSource(keys, genesis, {
      activity,
      connected: () => [other, stranger],
      health: () => [health(other), health(stranger)],
    })
    const rows = new Map(peerInfos(src).map((p) => [p.id, p]))
    assert.deepEqual(rows.get(me)?.recentVotes, [true, true, true])
    assert.deepEqual(rows.get(other)?.recentVotes, [true, false, true])
    assert.equal(rows.get(stranger)?.member, false)
    assert.deepEqual(rows.get(stranger)?.recentVotes, [])
  })

  it('status carries the genesis assets and the default decimals', () => {
    const keys = keypairs(1)
    const genesis = makeGenesis(keys, {
      assets: [
        { code: 'JPY', decimals: 0 },
        { code: 'BTC', decimals: 8 },
      ],
    })
    const s = nodeStatus(viewSource(keys, genesis))
    assert.deepEqual(s.assets, genesis.assets)
    assert.equal(s.defaultDecimals, 2)
  })
})

describe('settings in effect', () => {
  it('are the stored ones with the command line over them, its peers added', () => {
    const stored = { ...DEFAULT_SETTINGS, peers: ['/ip4/10.0.0.1/tcp/1/p2p/x'], mdns: true }
    assert.deepEqual(settingsInEffect(stored, {}), stored)
    const run = settingsInEffect(stored, {
      listen: ['/ip4/127.0.0.1/tcp/5'],
      peers: ['/ip4/10.0.0.2/tcp/1/p2p/y', '/ip4/10.0.0.1/tcp/1/p2p/x'],
      mdns: false,
    })
    assert.deepEqual(run.listen, ['/ip4/127.0.0.1/tcp/5'])
    assert.deepEqual(run.peers, ['/ip4/10.0.0.1/tcp/1/p2p/x', '/ip4/10.0.0.2/tcp/1/p2p/y'])
    assert.equal(run.mdns, false)
    assert.deepEqual(run.timing, LAN_TIMING)
  })
})
