/**
 * Reading what a client sent, strictly: a request the API cannot read exactly as meant gets a
 * 400 that names the field, and nothing is stored. Guessing (a float amount rounded, an unknown
 * field ignored) would put something in the ledger nobody asked for.
 */
import { type EntryBody, type EntryQuery, type EntryStatus, MAX_PAGE } from '../node/index.ts'

export class RequestError extends Error {
  readonly status: number
  /** For a batch: the position of the item at fault in its `entries`. */
  readonly index: number | undefined
  constructor(status: number, message: string, index?: number) {
    super(message)
    this.status = status
    this.index = index
  }
}

/** Most entries one `POST /api/entries/batch` may carry. */
export const MAX_BATCH = 1_000

const TRANSFER_FIELDS = new Set(['from', 'to', 'asset', 'amount', 'memo'])
const STATUSES: readonly EntryStatus[] = ['submitted', 'relayed', 'committed', 'rejected']
export const DEFAULT_PAGE = 50

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new RequestError(400, `the body is not JSON: ${(error as Error).message}`)
  }
}

export function transferFrom(value: unknown): EntryBody {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestError(
      400,
      'the body must be a JSON object {"from","to","asset","amount","memo"}',
    )
  }
  const v = value as Record<string, unknown>
  for (const k of Object.keys(v)) {
    if (!TRANSFER_FIELDS.has(k)) throw new RequestError(400, `unknown field "${k}"`)
  }
  const text = (k: string, optional = false): string => {
    const x = v[k]
    if (x === undefined && optional) return ''
    if (typeof x !== 'string') throw new RequestError(400, `"${k}" must be a string`)
    return x
  }
  return {
    kind: 'transfer',
    from: text('from'),
    to: text('to'),
    asset: text('asset'),
    amount: amountFrom(v.amount),
    memo: text('memo', true),
  }
}

/**
 * A batch's bodies, every one read by the rules of `transferFrom` and then checked by `check`
 * (the ledger's own rule), before any is submitted: the first bad item is a 400 naming its index.
 */
export function batchFrom(value: unknown, check: (body: EntryBody) => string | null): EntryBody[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestError(400, 'the body must be a JSON object {"entries": [transfers]}')
  }
  for (const k of Object.keys(value)) {
    if (k !== 'entries') throw new RequestError(400, `unknown field "${k}"`)
  }
  const items = (value as { entries?: unknown }).entries
  if (!Array.isArray(items)) {
    throw new RequestError(400, '"entries" must be an array of transfers')
  }
  if (items.length < 1 || items.length > MAX_BATCH) {
    throw new RequestError(
      400,
      `"entries" must hold 1 to ${MAX_BATCH} transfers, not ${items.length}`,
    )
  }
  return items.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new RequestError(
        400,
        `entries[${i}] must be a JSON object {"from","to","asset","amount","memo"}`,
        i,
      )
    }
    let body: EntryBody
    try {
      body = transferFrom(item)
    } catch (error) {
      if (!(error instanceof RequestError)) throw error
      throw new RequestError(error.status, `entries[${i}]: ${error.message}`, i)
    }
    const refused = check(body)
    if (refused !== null) throw new RequestError(400, `entries[${i}]: ${refused}`, i)
    return body
  })
}

function amountFrom(x: unknown): bigint {
  if (typeof x === 'number') {
    if (!Number.isSafeInteger(x) || x <= 0) {
      throw new RequestError(
        400,
        `"amount" must be a positive integer of minor units (got ${x}); pass larger amounts as a string of digits`,
      )
    }
    return BigInt(x)
  }
  if (typeof x === 'string' && /^[0-9]{1,19}$/.test(x) && BigInt(x) > 0n) return BigInt(x)
  throw new RequestError(
    400,
    '"amount" must be a positive integer of minor units, as a number or a string of digits',
  )
}

export function entryQueryFrom(params: URLSearchParams): EntryQuery {
  const known = new Set(['account', 'asset', 'status', 'q', 'before', 'limit'])
  for (const k of params.keys()) {
    if (!known.has(k)) throw new RequestError(400, `unknown query parameter "${k}"`)
  }
  const status = params.get('status')
  if (status !== null && !(STATUSES as readonly string[]).includes(status)) {
    throw new RequestError(400, `"status" must be one of ${STATUSES.join(', ')}`)
  }
  const int = (k: string, min: number, max: number): number | undefined => {
    const s = params.get(k)
    if (s === null) return undefined
    const n = Number(s)
    if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new RequestError(400, `"${k}" must be an integer from ${min} to ${max}`)
    }
    return n
  }
  const account = params.get('account')
  const asset = params.get('asset')
  const q = params.get('q')
  const before = int('before', 1, Number.MAX_SAFE_INTEGER)
  return {
    limit: int('limit', 1, MAX_PAGE) ?? DEFAULT_PAGE,
    ...(account === null ? {} : { account }),
    ...(asset === null ? {} : { asset }),
    ...(status === null ? {} : { status: status as EntryStatus }),
    ...(q === null ? {} : { q }),
    ...(before === undefined ? {} : { before }),
  }
}

export function heightFrom(s: string): number {
  const n = Number(s)
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(n) || n < 1) {
    throw new RequestError(400, `a block height is a positive integer, not "${s}"`)
  }
  return n
}
