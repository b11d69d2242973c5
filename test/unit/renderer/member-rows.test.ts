/** The members list: short ids people compare, who is online, this machine first. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { MemberView, PeerView } from '../../../core/api/types.ts'
import { memberRows, onlineMembers } from '../../../renderer/src/state/member-rows.ts'
import { throttle } from '../../../renderer/src/state/member-throttle.ts'

const peer = (id: string, over: Partial<PeerView> = {}): PeerView => ({
  id,
  shortId: id,
  name: id,
  self: false,
  member: true,
  connected: false,
  since: null,
  latencyMs: null,
  lastMessage: null,
  height: null,
  votedShare: null,
  recentVotes: [],
  addrs: [],
  score: null,
  ...over,
})

describe('member rows', () => {
  const members: MemberView[] = [
    { id: 'c', shortId: 'CCCC-CCCC-CCCC', name: 'Carol' },
    { id: 'a', shortId: 'AAAA-AAAA-AAAA', name: 'Alice' },
    { id: 'b', shortId: 'BBBB-BBBB-BBBB', name: 'Bob' },
  ]

  it('puts this machine first, then the others by name', () => {
    const rows = memberRows(members, [], 'c')
    assert.deepEqual(
      rows.map((r) => r.name),
      ['Carol', 'Alice', 'Bob'],
    )
    assert.equal(rows[0]?.self, true)
  })

  it('marks a member online only when this node is connected to it', () => {
    const rows = memberRows(members, [peer('a', { connected: true }), peer('b')], 'c')
    const by = new Map(rows.map((r) => [r.id, r.online]))
    assert.equal(by.get('a'), true)
    assert.equal(by.get('b'), false)
    assert.equal(by.get('c'), true)
  })

  it('names a member with no name by its short id', () => {
    const rows = memberRows([{ id: 'd', shortId: 'DDDD-DDDD-DDDD', name: '' }], [], 'c')
    assert.equal(rows[0]?.name, 'DDDD-DDDD-DDDD')
  })

  it('says nothing of a member this node has not reported on yet', () => {
    const rows = memberRows(members, [], 'c')
    assert.equal(rows.find((r) => r.id === 'a')?.online, null)
  })

  it('counts this machine and connected members online, and no connected non-member', () => {
    const online = onlineMembers(
      members,
      [peer('a', { connected: true }), peer('x', { connected: true, member: false })],
      'c',
    )
    assert.deepEqual([...online].sort(), ['a', 'c'])
  })
})

describe('members refresh throttle', () => {
  function fakeClock() {
    let now = 0
    const timers: { at: number; fn: () => void }[] = []
    return {
      clock: {
        now: () => now,
        setTimeout: (fn: () => void, ms: number) => {
          timers.push({ at: now + ms, fn })
        },
      },
      advance(ms: number) {
        now += ms
        for (const t of timers.splice(0).sort((x, y) => x.at - y.at)) {
          if (t.at <= now) t.fn()
          else timers.push(t)
        }
      },
    }
  }

  it('refreshes at once, then at most once a second, and never misses the last block', () => {
    const c = fakeClock()
    let calls = 0
    const onBlock = throttle(() => calls++, 1000, c.clock)
    onBlock()
    assert.equal(calls, 1)
    c.advance(300)
    onBlock()
    c.advance(300)
    onBlock()
    assert.equal(calls, 1, 'blocks within the second wait')
    c.advance(400)
    assert.equal(calls, 2, 'one refresh at the end of the second covers them')
    c.advance(5000)
    assert.equal(calls, 2)
    onBlock()
    assert.equal(calls, 3)
  })
})
