/**
 * The Submit form's checks. They mirror the ledger's own rules (core/ledger/rules.ts and
 * LIMITS in core/ledger/limits.ts) one for one: what passes here the node accepts, and what the
 * ledger would refuse is caught here, in words, before anything is sent. The renderer may not
 * import core code, so the rules are restated; the unit tests pin them to the same boundaries.
 */
import type { TransferRequest } from '../../../core/api/types.ts'

export const ACCOUNT = /^@?[a-z0-9._-]{1,64}$/
export const ASSET = /^[A-Z0-9]{1,12}$/
export const MEMO_CHARS = 280
/** LIMITS.maxAmount: amounts are stored as signed 64-bit integers of minor units. */
export const MAX_AMOUNT = 2n ** 63n - 1n
const LONE_SURROGATE = /\p{Cs}/u
const DECIMAL = /^(\d*)(?:\.(\d*))?$/

export type Field = 'from' | 'to' | 'asset' | 'amount' | 'memo'
export const FIELDS: readonly Field[] = ['from', 'to', 'asset', 'amount', 'memo']

export interface TransferForm {
  readonly from: string
  readonly to: string
  readonly asset: string
  readonly amount: string
  readonly memo: string
}

export type FieldErrors = Partial<Record<Field, string>>

/** Characters as a person counts them: code points, so an emoji is one, not two. */
export function charCount(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

export function accountProblem(value: string, label: string): string | null {
  const v = value.trim()
  if (v === '')
    return `Enter the account to ${label === 'from' ? 'take the amount from' : 'pay'}, e.g. ${label === 'from' ? 'alice' : 'bob'}.`
  if (ACCOUNT.test(v)) return null
  if (v.replace(/^@/, '').length > 64)
    return `${capital(label)} account is too long: at most 64 characters.`
  return 'Use lowercase letters, digits, dot, underscore or hyphen; an external account starts with @.'
}

export function assetProblem(value: string): string | null {
  const v = value.trim()
  if (v === '') return 'Enter the asset, e.g. USD.'
  if (ASSET.test(v)) return null
  if (v.length > 12) return 'An asset code has at most 12 characters.'
  return 'Use capital letters and digits only, e.g. USD or EUR.'
}

/**
 * The amount as the ledger counts it: a positive whole number of minor units, as digits. Exact:
 * string and bigint arithmetic only, so 0.1 + 0.2 never becomes 0.30000000000000004.
 */
export function toMinorUnits(text: string, decimals: number): string | null {
  const m = DECIMAL.exec(text.trim())
  if (m === null) return null
  const whole = m[1] ?? ''
  const fraction = m[2] ?? ''
  if (whole === '' && fraction === '') return null
  if (fraction.replace(/0+$/, '').length > decimals) return null
  const minor = BigInt(`${whole || '0'}${fraction.padEnd(decimals, '0').slice(0, decimals)}`)
  return minor.toString()
}

/** `12345` minor units with 2 decimals → `123.45`, with no thousands separators. */
export function plainAmount(minor: string | bigint, decimals: number): string {
  const s = minor.toString()
  const negative = s.startsWith('-')
  const digits = (negative ? s.slice(1) : s).padStart(decimals + 1, '0')
  const whole = digits.slice(0, digits.length - decimals)
  const fraction = decimals > 0 ? `.${digits.slice(digits.length - decimals)}` : ''
  return `${negative ? '-' : ''}${whole}${fraction}`
}

export function amountProblem(text: string, asset: string, decimals: number): string | null {
  const v = text.trim()
  if (v === '') return 'Enter an amount, e.g. 12.50.'
  const m = DECIMAL.exec(v)
  if (m === null || ((m[1] ?? '') === '' && (m[2] ?? '') === '')) {
    if (v.startsWith('-')) return 'The amount must be more than 0.'
    return 'Write the amount with digits and at most one decimal point, e.g. 1250.75 (no commas).'
  }
  const minor = toMinorUnits(v, decimals)
  const name = ASSET.test(asset.trim()) ? asset.trim() : 'this asset'
  if (minor === null) {
    return decimals === 0
      ? `${name} has no decimals: enter a whole number.`
      : `${name} has ${decimals} decimal${decimals === 1 ? '' : 's'}: at most ${decimals} digit${decimals === 1 ? '' : 's'} after the point.`
  }
  if (BigInt(minor) <= 0n) return 'The amount must be more than 0.'
  if (BigInt(minor) > MAX_AMOUNT) {
    return `The amount is too large: at most ${plainAmount(MAX_AMOUNT, decimals)}.`
  }
  return null
}

export function memoProblem(memo: string): string | null {
  if (LONE_SURROGATE.test(memo)) return 'The memo has a broken character (an unpaired surrogate).'
  const n = charCount(memo)
  if (n > MEMO_CHARS) return `The memo is ${n} characters; at most ${MEMO_CHARS}.`
  return null
}

/**
 * Every field's problem, and the request to send when there is none. `decimalsOf` gives the
 * asset's decimals as the ledger fixes them.
 */
export function checkTransfer(
  form: TransferForm,
  decimalsOf: (asset: string) => number,
): { readonly errors: FieldErrors; readonly request: TransferRequest | null } {
  const errors: FieldErrors = {}
  const from = form.from.trim()
  const to = form.to.trim()
  const asset = form.asset.trim()
  const decimals = decimalsOf(asset)
  const put = (field: Field, problem: string | null) => {
    if (problem !== null) errors[field] = problem
  }
  put('from', accountProblem(form.from, 'from'))
  put('to', accountProblem(form.to, 'to'))
  // The ledger refuses a transfer from an account to itself.
  if (errors.from === undefined && errors.to === undefined && from === to) {
    errors.to = 'From and To must be different accounts.'
  }
  put('asset', assetProblem(form.asset))
  put('amount', amountProblem(form.amount, asset, decimals))
  put('memo', memoProblem(form.memo))
  if (Object.keys(errors).length > 0) return { errors, request: null }
  const amount = toMinorUnits(form.amount, decimals) as string
  return { errors, request: { from, to, asset, amount, memo: form.memo } }
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}
