/**
 * The first run: create a ledger, or ask to join one. What the machine stands at comes from the
 * hub (`app.setup`); this holds only what the person is typing and the node's last refusal.
 */
import type { FoundLedgerView } from '../../../core/api/types.ts'
import type { Result } from '../api/client.ts'
import type { AppState } from './app.svelte.ts'
import { ledgerNameError, memberAddress } from './first-run-input.ts'

/** The lobby lists the ledgers in sight anew every 2 s and sends no event when it does. */
const POLL_MS = 2_000

/** Which action a message belongs to, so it is shown where the person acted. */
export type Action = 'create' | 'address' | `ledger:${string}`

export class FirstRunState {
  readonly #app: AppState
  ledgerName = $state('')
  address = $state('')
  /** Errors show once a field was left or a send was tried, not at the first keystroke. */
  nameTouched = $state(false)
  addressTouched = $state(false)
  /** Shown opened when nothing was found; otherwise the person opens it. */
  addressOpen = $state(false)
  busy = $state<Action | null>(null)
  /** The node's refusal, in its words, with the action it answers. */
  error = $state<{ readonly action: Action; readonly text: string } | null>(null)

  readonly nameError = $derived(ledgerNameError(this.ledgerName))
  readonly addressResult = $derived(memberAddress(this.address))

  constructor(app: AppState) {
    this.#app = app
  }

  get ledgers(): readonly FoundLedgerView[] {
    const s = this.#app.setup
    return s === null || s.state === 'member' ? [] : s.ledgers
  }

  /** Asks where the machine stands every 2 s while the screen is shown; returns the stop. */
  watch(): () => void {
    const t = setInterval(() => {
      if (this.#app.link.state === 'open') void this.#app.refreshSetup()
    }, POLL_MS)
    return () => clearInterval(t)
  }

  /** False when the name was refused here: nothing was sent. */
  async create(): Promise<boolean> {
    this.nameTouched = true
    if (this.nameError !== null) return false
    await this.#send('create', () => this.#app.api.createLedger({ name: this.ledgerName.trim() }))
    return true
  }

  async join(ledger: FoundLedgerView): Promise<void> {
    await this.#send(`ledger:${ledger.ledger}`, () => this.#app.api.join({ ledger: ledger.ledger }))
  }

  /** False when the address was refused here: nothing was sent. */
  async joinByAddress(): Promise<boolean> {
    this.addressTouched = true
    const r = this.addressResult
    if ('error' in r) return false
    await this.#send('address', () => this.#app.api.join({ addr: r.addr }))
    return true
  }

  async #send(action: Action, call: () => Promise<Result<unknown>>): Promise<void> {
    if (this.busy !== null) return
    this.busy = action
    this.error = null
    const r = await call()
    if (r.ok) {
      await this.#app.refreshSetup()
    } else {
      this.error = { action, text: r.error }
    }
    this.busy = null
  }
}
