/**
 * What the tray icon says: its colour and tooltip, from the core's life (is its process running)
 * and, while it runs, the figures it reports. Three tones, as the user reads them: committing
 * (green: entries settle), no quorum (amber: entries wait), offline (grey: this machine's node is
 * not taking part: stopped, starting, or not in a ledger yet).
 */
import type { CoreSummary } from '../../core/api/desktop-protocol.ts'
import type { CoreLife } from './core-supervisor.ts'

export type TrayTone = 'committing' | 'noQuorum' | 'offline'

export interface TrayLook {
  readonly tone: TrayTone
  readonly tooltip: string
}

/** Windows cuts tray tooltips at 127 characters; longer ones are cut here, visibly. */
export const MAX_TOOLTIP = 127

export function trayLook(life: CoreLife, summary: CoreSummary | null): TrayLook {
  if (life.state === 'down') {
    return look(
      'offline',
      life.cause.restarting
        ? 'offline: the core stopped and is restarting'
        : 'offline: the core stopped',
    )
  }
  if (life.state === 'starting' || summary === null) return look('offline', 'starting')
  if (summary.kind === 'setup') {
    return look(
      'offline',
      summary.setup === 'joining'
        ? 'offline: waiting for a member to approve this machine'
        : 'offline: no ledger yet (open Tally to create or join one)',
    )
  }
  const machines = `${summary.online} of ${summary.members} machine${summary.members === 1 ? '' : 's'} online`
  if (summary.hasQuorum) {
    return look(
      'committing',
      `committing: ${summary.ledgerName}, ${machines}, height ${summary.height}`,
    )
  }
  return look(
    'noQuorum',
    `no quorum: ${machines}, ${summary.quorum} needed; new entries wait (${summary.ledgerName})`,
  )
}

function look(tone: TrayTone, text: string): TrayLook {
  const tooltip = `Tally — ${text}`
  return {
    tone,
    tooltip: tooltip.length <= MAX_TOOLTIP ? tooltip : `${tooltip.slice(0, MAX_TOOLTIP - 1)}…`,
  }
}
