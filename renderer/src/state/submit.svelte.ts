/**
 * The Submit form: its fields and their checks, the one submission in flight with its
 * Idempotency-Key, and what became of each entry sent from here ("Just submitted").
 *
 * A submission keeps its key until the node has answered it: Try again after a lost answer, a
 * busy node or no answer at all sends the same body with the same key, so the node stores it at
 * most once. A new submission (anything in the form changed, or the last one was stored) gets a
 * fresh key.
 */
import type {
  EntryStatus,
  EntryView,
  StatusView,
  TransferRequest,
} from '../../../core/api/types.ts'
import type { ApiClient } from '../api/client.ts'
import type { LedgerState } from './ledger.svelte.ts'
import { decimalsOf } from './ledger-query.ts'
import {
  checkTransfer,
  FIELDS,
  type Field,
  type FieldErrors,
  type TransferForm,
} from './submit-rules.ts'
import { type Failure, failureOf } from './submit-words.ts'

/** Entries listed under "Just submitted". */
const KEEP_SUBMITTED = 20
/** Entry events remembered by id, for a 202 that arrives after its entry's first events. */
const KEEP_SEEN = 500

export interface JustSubmitted {
  readonly id: string
  readonly request: TransferRequest
  status: EntryStatus
  reason: string | null
  height: number | null
  readonly at: number
}

interface Pending {
  readonly key: string
  readonly request: TransferRequest
}

const EMPTY: TransferForm = { from: '', to: '', asset: '', amount: '', memo: '' }
const RANK: Record<EntryStatus, number> = { submitted: 0, relayed: 1, committed: 2, rejected: 2 }

export class SubmitState {
  readonly #api: ApiClient
  readonly #status: () => StatusView | null

  form = $state<TransferForm>({ ...EMPTY })
  #touched = $state<Partial<Record<Field, true>>>({})
  /** Submit was pressed: every field's error shows, touched or not. */
  attempted = $state(false)
  sending = $state(false)
  failure = $state<Failure | null>(null)
  /** The last answer, for the live region: "Entry 3f2a… is stored on this machine." */
  notice = $state('')
  submitted = $state<JustSubmitted[]>([])
  #pending: Pending | null = null
  readonly #seen = new Map<string, EntryView>()

  constructor(api: ApiClient, _ledger: LedgerState, status: () => StatusView | null = () => null) {
    this.#api = api
    this.#status = status
  }

  readonly check = $derived(checkTransfer(this.form, (asset) => decimalsOf(asset, this.#status())))

  /** Errors of the fields left (blurred) or of all once Submit was pressed. */
  readonly errors: FieldErrors = $derived.by(() => {
    const shown: FieldErrors = {}
    for (const f of FIELDS) {
      const e = this.check.errors[f]
      if (e !== undefined && (this.attempted || this.#touched[f])) shown[f] = e
    }
    return shown
  })

  /** The decimals of the asset typed, for the amount's hint. */
  readonly decimals = $derived.by(() => decimalsOf(this.form.asset.trim(), this.#status()))

  set(field: Field, value: string): void {
    this.form = { ...this.form, [field]: value }
  }

  touch(field: Field): void {
    if (!this.#touched[field]) this.#touched = { ...this.#touched, [field]: true }
  }

  /**
   * Sends the form when every field passes; returns the first field at fault otherwise (to
   * move focus there), and sends nothing.
   */
  async submit(): Promise<Field | null> {
    if (this.sending) return null
    this.attempted = true
    const { errors, request } = this.check
    if (request === null) return FIELDS.find((f) => errors[f] !== undefined) ?? null
    // Pressing Submit again on an unchanged form after a failure is the same submission.
    const same =
      this.#pending !== null && JSON.stringify(this.#pending.request) === JSON.stringify(request)
    const pending = same && this.#pending !== null ? this.#pending : { key: newKey(), request }
    await this.#send(pending)
    return null
  }

  /** Try again: the same body under the same key. */
  async retry(): Promise<void> {
    if (this.#pending === null || this.sending) return
    await this.#send(this.#pending)
  }

  onEntry(entry: EntryView): void {
    this.#seen.delete(entry.id)
    this.#seen.set(entry.id, entry)
    if (this.#seen.size > KEEP_SEEN) {
      const oldest = this.#seen.keys().next().value
      if (oldest !== undefined) this.#seen.delete(oldest)
    }
    const item = this.submitted.find((s) => s.id === entry.id)
    if (item !== undefined) apply(item, entry)
  }

  /** After a reconnect: events may have been missed, so ask for the entries still moving. */
  async refresh(): Promise<void> {
    const open = this.submitted.filter((s) => RANK[s.status] < 2)
    await Promise.all(
      open.map(async (s) => {
        const r = await this.#api.entry(s.id)
        if (r.ok) this.onEntry(r.value)
      }),
    )
  }

  async #send(pending: Pending): Promise<void> {
    this.#pending = pending
    this.sending = true
    this.failure = null
    this.notice = ''
    const r = await this.#api.submit(pending.request, pending.key)
    this.sending = false
    if (!r.ok) {
      this.failure = failureOf(r.status, r.error)
      if (!this.failure.retryable) this.#pending = null
      return
    }
    this.#pending = null
    const item: JustSubmitted = {
      id: r.value.id,
      request: pending.request,
      status: r.value.status,
      reason: null,
      height: null,
      at: Date.now(),
    }
    const known = this.submitted.find((s) => s.id === item.id)
    if (known === undefined) {
      this.submitted.unshift(item)
      if (this.submitted.length > KEEP_SUBMITTED) this.submitted.length = KEEP_SUBMITTED
    }
    const target = known ?? this.submitted[0]
    const seen = this.#seen.get(item.id)
    if (target !== undefined && seen !== undefined) apply(target, seen)
    this.notice = `Entry ${item.id.slice(0, 8)}… is stored on this machine and waits for a block.`
    // The accounts and asset often repeat; the amount and memo rarely do.
    this.form = { ...this.form, amount: '', memo: '' }
    this.#touched = {}
    this.attempted = false
  }
}

function apply(item: JustSubmitted, entry: EntryView): void {
  if (RANK[entry.status] < RANK[item.status]) return
  item.status = entry.status
  item.reason = entry.reason ?? null
  item.height = entry.height ?? null
}

/** A fresh Idempotency-Key: a random UUID (v4). */
function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
