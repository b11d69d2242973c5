/**
 * What the tray icon says (electron/main/tray-look.ts): its tone from the core's life and figures,
 * and a tooltip that says the same in words, never longer than Windows shows.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CoreSummary } from '../../../core/api/desktop-protocol.ts'
import type { CoreLife } from '../../../electron/main/core-supervisor.ts'
import { MAX_TOOLTIP, trayLook } from '../../../electron/main/tray-look.ts'

const running: CoreLife = { state: 'running' }

function member(o: Partial<Extract<CoreSummary, { kind: 'member' }>> = {}): CoreSummary {
  return {
    kind: 'member',
    ledgerName: 'Office',
    height: 42,
    members: 3,
    online: 3,
    quorum: 2,
    hasQuorum: true,
    ...o,
  }
}

describe('the tray look', () => {
  it('is committing with a quorum, and says the ledger, machines online and height', () => {
    const look = trayLook(running, member())
    assert.equal(look.tone, 'committing')
    assert.match(look.tooltip, /^Tally — committing/)
    assert.match(look.tooltip, /Office/)
    assert.match(look.tooltip, /3 of 3 machines online/)
    assert.match(look.tooltip, /height 42/)
  })

  it('is noQuorum without one, and says how many are online and how many are needed', () => {
    const look = trayLook(running, member({ online: 1, members: 3, quorum: 2, hasQuorum: false }))
    assert.equal(look.tone, 'noQuorum')
    assert.match(look.tooltip, /no quorum/)
    assert.match(look.tooltip, /1 of 3 machines online/)
    assert.match(look.tooltip, /2 needed/)
    assert.match(look.tooltip, /wait/)
    assert.match(look.tooltip, /Office/)
  })

  it('says "machine" for a ledger of one', () => {
    const look = trayLook(running, member({ online: 1, members: 1, quorum: 1 }))
    assert.match(look.tooltip, /1 of 1 machine online/)
  })

  it('is offline while the core is down, saying whether it is restarting', () => {
    const restarting = trayLook(
      { state: 'down', cause: { text: 'crashed', restarting: true } },
      member(),
    )
    assert.equal(restarting.tone, 'offline')
    assert.match(restarting.tooltip, /stopped and is restarting/)
    const stopped = trayLook({ state: 'down', cause: { text: 'gave up', restarting: false } }, null)
    assert.equal(stopped.tone, 'offline')
    assert.match(stopped.tooltip, /stopped/)
    assert.doesNotMatch(stopped.tooltip, /restarting/)
  })

  it('is offline while the core is starting, even with figures from before', () => {
    const look = trayLook({ state: 'starting' }, member())
    assert.equal(look.tone, 'offline')
    assert.match(look.tooltip, /starting/)
  })

  it('is offline when the core runs but has sent no figures yet', () => {
    const look = trayLook(running, null)
    assert.equal(look.tone, 'offline')
    assert.match(look.tooltip, /starting/)
  })

  it('is offline with no ledger yet, saying how to get one', () => {
    const look = trayLook(running, { kind: 'setup', setup: 'no-ledger' })
    assert.equal(look.tone, 'offline')
    assert.match(look.tooltip, /no ledger yet/)
    assert.match(look.tooltip, /create or join/)
  })

  it('is offline while joining, saying it waits for approval', () => {
    const look = trayLook(running, { kind: 'setup', setup: 'joining' })
    assert.equal(look.tone, 'offline')
    assert.match(look.tooltip, /waiting for a member to approve/)
  })

  it(`never exceeds ${MAX_TOOLTIP} characters, even with a 64-character ledger name`, () => {
    assert.equal(MAX_TOOLTIP, 127)
    const name = 'L'.repeat(64)
    const big = { members: 99_999, online: 99_999, height: 9_999_999_999, quorum: 66_667 }
    for (const hasQuorum of [true, false]) {
      const look = trayLook(running, member({ ...big, ledgerName: name, hasQuorum }))
      assert.ok(look.tooltip.length <= MAX_TOOLTIP, `${look.tooltip.length}: ${look.tooltip}`)
      assert.equal(look.tone, hasQuorum ? 'committing' : 'noQuorum')
    }
    // The long one is cut visibly, not silently.
    const cut = trayLook(running, member({ ...big, ledgerName: name, hasQuorum: false }))
    assert.equal(cut.tooltip.length, MAX_TOOLTIP)
    assert.ok(cut.tooltip.endsWith('…'))
  })
})
