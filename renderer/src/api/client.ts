/**
 * The node's API as typed calls. Every call resolves to a Result, never throws: the screens show
 * `error` as it is, so it must already be in words a person can act on.
 */
import type {
  BalanceView,
  CreateLedgerRequest,
  EntryPage,
  EntryStatus,
  EntryView,
  ErrorResponse,
  JoinLedgerRequest,
  JoinRequestView,
  MemberView,
  PeerView,
  RoundsView,
  SettingsView,
  SetupView,
  StatusView,
  SubmitResponse,
  TransferRequest,
} from '../../../core/api/types.ts'
import { type ApiRequest, NodeUnreachable, type Transport } from './transport.ts'

export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly status: number; readonly error: string }

export interface EntryFilter {
  readonly account?: string
  /** The asset code, exactly. */
  readonly asset?: string
  readonly status?: EntryStatus
  readonly q?: string
  readonly before?: number
  readonly limit?: number
}

/** Status 0: the request never reached the node. */
export const UNREACHABLE = 0

export class ApiClient {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  get transport(): Transport {
    return this.#transport
  }

  status(): Promise<Result<StatusView>> {
    return this.#call({ method: 'GET', path: '/api/status' })
  }

  setup(): Promise<Result<SetupView>> {
    return this.#call({ method: 'GET', path: '/api/setup' })
  }

  entries(filter: EntryFilter): Promise<Result<EntryPage>> {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(filter)) {
      if (v !== undefined && v !== '') q.set(k, String(v))
    }
    const query = q.toString()
    return this.#call({ method: 'GET', path: `/api/entries${query === '' ? '' : `?${query}`}` })
  }

  entry(id: string): Promise<Result<EntryView>> {
    return this.#call({ method: 'GET', path: `/api/entries/${encodeURIComponent(id)}` })
  }

  /** `key` is sent as `Idempotency-Key`: the same key on a retry never makes a second entry. */
  submit(transfer: TransferRequest, key: string): Promise<Result<SubmitResponse>> {
    return this.#call({
      method: 'POST',
      path: '/api/entries',
      body: transfer,
      headers: { 'idempotency-key': key },
    })
  }

  async balances(): Promise<Result<readonly BalanceView[]>> {
    const r = await this.#call<{ balances: BalanceView[] }>({
      method: 'GET',
      path: '/api/balances',
    })
    return r.ok ? { ok: true, value: r.value.balances } : r
  }

  async peers(): Promise<Result<readonly PeerView[]>> {
    const r = await this.#call<{ peers: PeerView[] }>({ method: 'GET', path: '/api/peers' })
    return r.ok ? { ok: true, value: r.value.peers } : r
  }

  rounds(): Promise<Result<RoundsView>> {
    return this.#call({ method: 'GET', path: '/api/rounds' })
  }

  async members(): Promise<Result<readonly MemberView[]>> {
    const r = await this.#call<{ members: MemberView[] }>({ method: 'GET', path: '/api/members' })
    return r.ok ? { ok: true, value: r.value.members } : r
  }

  async joinRequests(): Promise<Result<readonly JoinRequestView[]>> {
    const r = await this.#call<{ requests: JoinRequestView[] }>({
      method: 'GET',
      path: '/api/join-requests',
    })
    return r.ok ? { ok: true, value: r.value.requests } : r
  }

  approve(id: string): Promise<Result<SubmitResponse>> {
    return this.#call({
      method: 'POST',
      path: `/api/join-requests/${encodeURIComponent(id)}/approve`,
    })
  }

  deny(id: string): Promise<Result<unknown>> {
    return this.#call({ method: 'POST', path: `/api/join-requests/${encodeURIComponent(id)}/deny` })
  }

  removeMember(id: string): Promise<Result<SubmitResponse>> {
    return this.#call({ method: 'POST', path: `/api/members/${encodeURIComponent(id)}/remove` })
  }

  /** What this node runs with (read-only); answered before the machine has a ledger too. */
  settings(): Promise<Result<SettingsView>> {
    return this.#call({ method: 'GET', path: '/api/settings' })
  }

  createLedger(req: CreateLedgerRequest): Promise<Result<SetupView>> {
    return this.#call({ method: 'POST', path: '/api/ledger', body: req })
  }

  join(req: JoinLedgerRequest): Promise<Result<SetupView>> {
    return this.#call({ method: 'POST', path: '/api/join', body: req })
  }

  async #call<T>(req: ApiRequest): Promise<Result<T>> {
    try {
      const reply = await this.#transport.request(req)
      if (reply.status >= 200 && reply.status < 300) return { ok: true, value: reply.body as T }
      return { ok: false, status: reply.status, error: errorText(reply.status, reply.body) }
    } catch (error) {
      const message = error instanceof NodeUnreachable ? error.message : String(error)
      return { ok: false, status: UNREACHABLE, error: message }
    }
  }
}

/** The node's own words when it gave some; otherwise what the status means to a user. */
export function errorText(status: number, body: unknown): string {
  const given = (body as Partial<ErrorResponse> | null)?.error
  if (typeof given === 'string' && given !== '') {
    if (status === 503) return `The node is busy: ${given}. Try again in a moment.`
    return given
  }
  switch (status) {
    case 401:
      return 'This page has no valid access token: open the address that `tally node` printed.'
    case 404:
      return 'Not found on this node.'
    case 409:
      return 'The node refused this now; try again shortly.'
    case 503:
      return 'Too many entries are waiting for a block; try again in a moment.'
    default:
      return `The node answered ${status}.`
  }
}
