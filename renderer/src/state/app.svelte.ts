/**
 * The hub: holds the link to the node and where the machine stands, and hands each event from
 * the node to the state that shows it. Screens read the small states it owns; none of them talks
 * to the transport except through the ApiClient.
 */
import type { EventMessage, SetupView, StatusView } from '../../../core/api/types.ts'
import { ApiClient } from '../api/client.ts'
import type { LinkState, Transport } from '../api/transport.ts'
import { LedgerState } from './ledger.svelte.ts'
import { MembersState } from './members.svelte.ts'
import { PeersState } from './peers.svelte.ts'
import { RoundsState } from './rounds.svelte.ts'
import { Router } from './router.svelte.ts'
import { SettingsState } from './settings.svelte.ts'
import { SubmitState } from './submit.svelte.ts'

/** Status and peers change without events (who is online, latency): asked this often. */
const POLL_MS = 2_000

export class AppState {
  readonly api: ApiClient
  readonly router = new Router()
  link = $state<LinkState>({ state: 'connecting' })
  status = $state<StatusView | null>(null)
  setup = $state<SetupView | null>(null)
  /** The node refused the token (a wrong address, or the node restarted with a new token). */
  refused = $state(false)

  readonly ledger: LedgerState
  readonly submit: SubmitState
  readonly peers: PeersState
  readonly rounds: RoundsState
  readonly members: MembersState
  readonly settings: SettingsState

  #stop: (() => void) | null = null
  #poll: ReturnType<typeof setInterval> | null = null

  constructor(transport: Transport) {
    this.api = new ApiClient(transport)
    this.ledger = new LedgerState(this.api)
    this.submit = new SubmitState(this.api, this.ledger, () => this.status)
    this.peers = new PeersState(this.api)
    this.rounds = new RoundsState(this.api)
    this.members = new MembersState(this.api)
    this.settings = new SettingsState(this.api)
  }

  /** The machine holds a ledger, so the screens have something to show. */
  readonly hasLedger = $derived(
    this.setup === null ? this.status !== null : this.setup.state === 'member',
  )

  start(): void {
    this.#stop = this.api.transport.listen({
      message: (m) => this.#onMessage(m),
      link: (l) => {
        this.link = l
        // A stream refused for its token closes like a node that is away; ask plainly to tell.
        if (l.state === 'down') void this.#checkToken()
      },
    })
    this.#poll = setInterval(() => {
      if (this.link.state === 'open') void this.#refreshLive()
    }, POLL_MS)
  }

  stop(): void {
    this.#stop?.()
    if (this.#poll !== null) clearInterval(this.#poll)
  }

  async #checkToken(): Promise<void> {
    const r = await this.api.setup()
    if (!r.ok && r.status === 401) {
      this.refused = true
      this.stop()
    }
  }

  async refreshStatus(): Promise<void> {
    const r = await this.api.status()
    if (!r.ok) return
    const shown = this.status
    // An answer asked before the last block event arrives after it: it must not take the height
    // back for two seconds (a committed height of one ledger never goes down).
    this.status =
      shown !== null && shown.ledger === r.value.ledger && r.value.height < shown.height
        ? { ...r.value, height: shown.height, lastBlockTime: shown.lastBlockTime }
        : r.value
  }

  async refreshSetup(): Promise<void> {
    const r = await this.api.setup()
    // The first answer comes after a greeting, which loaded the screens already.
    if (r.ok) this.#takeSetup(r.value, this.setup !== null)
  }

  /**
   * The news that the machine became a member comes by the `setup` event or by an answer to
   * `GET /api/setup` (after a create, or the first-run poll), whichever is first: the screens
   * are loaded then, or never.
   */
  #takeSetup(next: SetupView, load: boolean): void {
    const became = next.state === 'member' && this.setup?.state !== 'member'
    this.setup = next
    if (became && load) {
      void this.refreshStatus()
      this.#refreshAll()
    }
  }

  async #refreshLive(): Promise<void> {
    if (this.status === null) return
    await Promise.all([this.refreshStatus(), this.peers.refresh()])
  }

  /** Whatever happened while the link was down is read again, not pieced together. */
  #refreshAll(): void {
    void this.ledger.refresh()
    void this.submit.refresh()
    void this.peers.refresh()
    void this.rounds.resync()
    void this.members.refresh()
    void this.settings.refresh()
  }

  #onMessage(m: EventMessage): void {
    switch (m.type) {
      case 'hello':
        this.status = m.status
        void this.refreshSetup()
        this.#refreshAll()
        break
      case 'setup':
        this.#takeSetup(m.setup, true)
        break
      case 'entry':
        this.ledger.onEntry(m.entry)
        this.submit.onEntry(m.entry)
        break
      case 'block':
        if (this.status !== null && m.block.height > this.status.height) {
          this.status = { ...this.status, height: m.block.height, lastBlockTime: m.block.time }
        }
        this.ledger.onBlock(m.block)
        this.rounds.onBlock(m.block)
        this.members.onBlock()
        break
      case 'round':
        if (this.status !== null) {
          this.status = { ...this.status, round: m.round, step: m.step }
        }
        this.rounds.onRound(m)
        break
      case 'peer':
        this.peers.onPeer(m.peer)
        break
      case 'join-requests':
        this.members.onJoinRequests(m.requests)
        break
    }
  }
}
