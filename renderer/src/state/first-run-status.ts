/** The joining machine's request in words: what is happening and what the person should do. */
import type { JoiningView, MachineView } from '../../../core/api/types.ts'

export interface JoinStatusText {
  /** A word or two for the badge. */
  readonly badge: string
  readonly tone: 'ok' | 'warn' | 'bad' | 'idle'
  readonly title: string
  /** What to do next, or what the machine does meanwhile. */
  readonly detail: string
  /** The node's reason, when it gave one that the detail does not already say. */
  readonly reason: string | null
}

export function joinStatusText(j: JoiningView, machine: MachineView): JoinStatusText {
  const ledger = j.ledgerName === '' ? 'the ledger' : j.ledgerName
  const reason = j.reason === null || j.reason === '' ? null : j.reason
  switch (j.status) {
    case 'asking':
      return {
        badge: 'Asking',
        tone: 'idle',
        title: `Looking for ${ledger}'s machines…`,
        detail:
          'This machine asks again every 2 seconds. Keep it on, and on the same network as a member (or reachable at the address you typed).',
        reason,
      }
    case 'pending':
      return {
        badge: 'Pending',
        tone: 'warn',
        title: 'Waiting for approval',
        detail: `On a member's machine, open Members and approve ${machine.name} — compare the id ${machine.shortId}.`,
        reason: null,
      }
    case 'full':
      return {
        badge: 'List full',
        tone: 'warn',
        title: `${ledger}'s list of waiting machines is full`,
        detail:
          'This machine keeps asking. A member can make room by denying old requests on their Members screen; then approve this one — compare the id ' +
          `${machine.shortId}.`,
        reason,
      }
    case 'denied':
      return {
        badge: 'Denied',
        tone: 'bad',
        title: `${ledger} did not let this machine in`,
        detail:
          'Ask a member why, or join another ledger. The node that denied it will not list this machine again for an hour.',
        reason,
      }
    case 'approved':
      return {
        badge: 'Approved',
        tone: 'ok',
        title: 'Approved — fetching the ledger…',
        detail:
          'This machine is downloading the ledger from its members; the main screens open by themselves when it has it.',
        reason: null,
      }
  }
}
