/**
 * Members and the machines asking to join, with what was last asked of each: a decision the
 * node refused is shown by the row it concerns, in the node's words.
 */
import type { JoinRequestView, MemberView } from '../../../core/api/types.ts'
import type { ApiClient, Result } from '../api/client.ts'
import { throttle } from './member-throttle.ts'

export type Decision = 'approve' | 'deny' | 'remove'

/** What became of the last decision on a row: sent and accepted, or refused with the reason. */
export interface Outcome {
  readonly what: Decision
  readonly ok: boolean
  readonly text: string
}

export class MembersState {
  readonly #api: ApiClient
  members = $state<readonly MemberView[]>([])
  requests = $state<readonly JoinRequestView[]>([])
  /** Why the lists could not be read, in words; null once they were. */
  loadError = $state<string | null>(null)
  /** Decisions on their way to the node, by machine id. */
  busy = $state<Readonly<Record<string, Decision>>>({})
  /** The last decision's outcome, by machine id. */
  outcomes = $state<Readonly<Record<string, Outcome>>>({})
  /** The member whose removal is being confirmed. */
  removing = $state<Pick<MemberView, 'id' | 'name'> | null>(null)
  /** Why the node refused the removal being confirmed. */
  removeError = $state<string | null>(null)

  // Members change only by committed entries, so a block is the only reason to ask again.
  readonly onBlock = throttle(() => void this.refreshMembers(), 1_000)

  constructor(api: ApiClient) {
    this.#api = api
  }

  async refresh(): Promise<void> {
    const [m, r] = await Promise.all([this.#api.members(), this.#api.joinRequests()])
    if (m.ok) this.members = m.value
    if (r.ok) this.requests = r.value
    this.loadError = m.ok ? (r.ok ? null : r.error) : m.error
  }

  async refreshMembers(): Promise<void> {
    const m = await this.#api.members()
    if (m.ok) this.members = m.value
  }

  async refreshRequests(): Promise<void> {
    const r = await this.#api.joinRequests()
    if (r.ok) this.requests = r.value
  }

  /**
   * Asks for the waiting machines every few seconds while the screen is shown: the node sends an
   * event when the list changes, not each time a machine asks again, and "last asked" is what
   * tells a person whether the machine is still there to be approved. Returns the stop.
   */
  watch(): () => void {
    const t = setInterval(() => {
      if (this.requests.length > 0) void this.refreshRequests()
    }, 5_000)
    return () => clearInterval(t)
  }

  onJoinRequests(requests: readonly JoinRequestView[]): void {
    this.requests = requests
  }

  async approve(r: JoinRequestView): Promise<void> {
    await this.#decide(r.id, 'approve', () => this.#api.approve(r.id), {
      ok: `Approved: ${r.name} joins once the entry that adds it is committed.`,
    })
  }

  async deny(r: JoinRequestView): Promise<void> {
    const done = await this.#decide(r.id, 'deny', () => this.#api.deny(r.id), {
      ok: `Denied: ${r.name} is not listed again on this machine for an hour.`,
    })
    // The node says so by an event too, but the row should not wait for it to go.
    if (done) this.requests = this.requests.filter((x) => x.id !== r.id)
  }

  openRemove(m: Pick<MemberView, 'id' | 'name'>): void {
    this.removing = m
    this.removeError = null
  }

  closeRemove(): void {
    this.removing = null
    this.removeError = null
  }

  async confirmRemove(): Promise<void> {
    const m = this.removing
    if (m === null || this.busy[m.id] !== undefined) return
    this.busy = { ...this.busy, [m.id]: 'remove' }
    const r = await this.#api.removeMember(m.id)
    this.busy = without(this.busy, m.id)
    if (!r.ok) {
      this.removeError = r.error
      return
    }
    this.outcomes = {
      ...this.outcomes,
      [m.id]: {
        what: 'remove',
        ok: true,
        text: `Removal of ${m.name} submitted: it takes effect once the entry is committed.`,
      },
    }
    this.closeRemove()
  }

  async #decide(
    id: string,
    what: Decision,
    call: () => Promise<Result<unknown>>,
    words: { ok: string },
  ): Promise<boolean> {
    if (this.busy[id] !== undefined) return false
    this.busy = { ...this.busy, [id]: what }
    const r = await call()
    this.busy = without(this.busy, id)
    const outcome: Outcome = r.ok
      ? { what, ok: true, text: words.ok }
      : { what, ok: false, text: r.error }
    this.outcomes = { ...this.outcomes, [id]: outcome }
    return r.ok
  }
}

function without<T>(o: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const copy = { ...o }
  delete copy[key]
  return copy
}
