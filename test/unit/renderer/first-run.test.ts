/** The first-run screen: what it refuses before sending, and the joining machine's status in words. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { JoiningView, MachineView } from '../../../core/api/types.ts'
import {
  ledgerNameError,
  MAX_LEDGER_NAME,
  memberAddress,
} from '../../../renderer/src/state/first-run-input.ts'
import { joinStatusText } from '../../../renderer/src/state/first-run-status.ts'

describe('ledger name', () => {
  it('accepts a plain name up to the node limit', () => {
    assert.equal(ledgerNameError('Office accounts'), null)
    assert.equal(ledgerNameError('x'.repeat(MAX_LEDGER_NAME)), null)
  })

  it('refuses an empty or blank name', () => {
    assert.notEqual(ledgerNameError(''), null)
    assert.notEqual(ledgerNameError('   '), null)
  })

  it('refuses a name longer than the node takes', () => {
    assert.match(ledgerNameError('x'.repeat(MAX_LEDGER_NAME + 1)) ?? '', /At most 64/)
  })

  it('refuses control characters', () => {
    assert.notEqual(ledgerNameError('a\tb'), null)
    assert.notEqual(ledgerNameError('a\nb'), null)
    assert.notEqual(ledgerNameError('a\u007fb'), null)
  })
})

describe('member address', () => {
  it('takes a TCP multiaddr as it is', () => {
    assert.deepEqual(memberAddress(' /ip4/192.168.1.20/tcp/26656 '), {
      addr: '/ip4/192.168.1.20/tcp/26656',
    })
    assert.deepEqual(memberAddress('/dns4/office-pc.local/tcp/26656'), {
      addr: '/dns4/office-pc.local/tcp/26656',
    })
    const withPeer = '/ip4/10.0.0.5/tcp/26656/p2p/12D3KooWQxyz'
    assert.deepEqual(memberAddress(withPeer), { addr: withPeer })
  })

  it('turns host:port into the multiaddr the node takes', () => {
    assert.deepEqual(memberAddress('192.168.1.20:26656'), { addr: '/ip4/192.168.1.20/tcp/26656' })
  })

  it('refuses what is not an address, so nothing is sent', () => {
    for (const bad of [
      '',
      'office-pc',
      '192.168.1.20',
      '/ip4/192.168.1.20',
      '/ip4/300.1.1.1/tcp/26656',
      '/ip4/192.168.1.20/tcp/70000',
      '/ip4/192.168.1.20/udp/26656',
      '999.1.1.1:80',
      `/dns4/${'a'.repeat(300)}/tcp/1`,
    ]) {
      assert.ok('error' in memberAddress(bad), bad)
    }
  })
})

describe('join status', () => {
  const machine: MachineView = {
    nodeId: 'f'.repeat(64),
    shortId: 'MFRG-GZDF-MZTW',
    name: 'dave-pc',
    addrs: [],
  }
  const joining = (over: Partial<JoiningView>): JoiningView => ({
    ledger: 'a'.repeat(64),
    ledgerName: 'Office',
    status: 'asking',
    reason: null,
    since: 0,
    ...over,
  })

  it('tells a pending machine what to approve where, with the id to compare', () => {
    const t = joinStatusText(joining({ status: 'pending' }), machine)
    assert.equal(
      t.detail,
      "On a member's machine, open Members and approve dave-pc — compare the id MFRG-GZDF-MZTW.",
    )
  })

  it('names the ledger it is looking for while asking', () => {
    assert.equal(joinStatusText(joining({}), machine).title, "Looking for Office's machines…")
  })

  it('gives the reason of a denial', () => {
    const t = joinStatusText(joining({ status: 'denied', reason: 'not expected' }), machine)
    assert.equal(t.reason, 'not expected')
    assert.equal(t.tone, 'bad')
  })

  it('says an approved machine is fetching the ledger', () => {
    assert.equal(
      joinStatusText(joining({ status: 'approved' }), machine).title,
      'Approved — fetching the ledger…',
    )
  })
})
