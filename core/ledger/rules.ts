/**
 * The rules every entry body and genesis must satisfy, independent of ledger state. Decoders call
 * them so that a decoded value always satisfies them, and signing checks them before anyone
 * relays an entry.
 */
import { LIMITS, LONE_SURROGATE, MAX_DECIMALS, NODE_ID_PATTERN } from './limits.ts'
import type { EntryBody, Genesis, Member, MemberChange, Transfer } from './types.ts'

const ACCOUNT = /^@?[a-z0-9._-]{1,64}$/
const ASSET = /^[A-Z0-9]{1,12}$/
const CONTROL = /\p{Cc}/u

/** Characters as a user counts them: code points, so an emoji is one, not two. */
export function charCount(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

/** An external account (a bank, an exchange) may go negative: it is where value enters. */
export function isExternalAccount(account: string): boolean {
  return account.startsWith('@')
}

export function accountError(account: unknown, field = 'account'): string | null {
  if (typeof account !== 'string') return `${field} must be a string`
  if (ACCOUNT.test(account)) return null
  return `${field} "${account}" must match [a-z0-9._-]{1,64}, optionally with a leading @`
}

export function assetError(asset: unknown): string | null {
  if (typeof asset !== 'string') return 'asset must be a string'
  if (ASSET.test(asset)) return null
  return `asset "${asset}" must match [A-Z0-9]{1,12}`
}

export function amountError(amount: unknown): string | null {
  if (typeof amount !== 'bigint' || amount <= 0n) {
    return 'amount must be a positive integer of minor units'
  }
  if (amount > LIMITS.maxAmount) return `amount ${amount} exceeds the maximum ${LIMITS.maxAmount}`
  return null
}

export function memoError(memo: unknown): string | null {
  return textError(memo, 'memo', 0, LIMITS.memoChars, true)
}

export function memberNameError(name: unknown): string | null {
  return textError(name, 'member name', 1, LIMITS.memberNameChars, false)
}

export function nodeIdError(id: unknown, field: string): string | null {
  if (typeof id === 'string' && NODE_ID_PATTERN.test(id)) return null
  return `${field} must be 64 lowercase hex characters (an ed25519 public key)`
}

function textError(
  s: unknown,
  field: string,
  min: number,
  max: number,
  controlAllowed: boolean,
): string | null {
  if (typeof s !== 'string') return `${field} must be a string`
  if (LONE_SURROGATE.test(s)) return `${field} has an unpaired UTF-16 surrogate`
  if (!controlAllowed && CONTROL.test(s)) return `${field} has a control character`
  // UTF-16 length bounds the code points from above, which spares counting in the common case.
  if (s.length > max) {
    const chars = charCount(s)
    if (chars > max) return `${field} is ${chars} characters; at most ${max}`
  }
  if (min > 0 && s.length === 0) return `${field} is empty`
  return null
}

function transferError(t: Transfer): string | null {
  return (
    accountError(t.from, 'from account') ??
    accountError(t.to, 'to account') ??
    (t.from === t.to ? 'from and to are the same account' : null) ??
    assetError(t.asset) ??
    amountError(t.amount) ??
    memoError(t.memo)
  )
}

function memberChangeError(m: MemberChange): string | null {
  if (m.action !== 'add' && m.action !== 'remove') {
    return `member action "${String(m.action)}" is not add or remove`
  }
  const idError = nodeIdError(m.member, 'member')
  if (idError) return idError
  if (m.action === 'remove') {
    return m.name === '' ? null : 'member name must be empty when removing a member'
  }
  return memberNameError(m.name)
}

/** Why `body` can never be valid on any ledger, or null when it can be. */
export function entryBodyError(body: EntryBody): string | null {
  switch (body.kind) {
    case 'transfer':
      return transferError(body)
    case 'member':
      return memberChangeError(body)
    default:
      return `entry kind "${String((body as { kind: unknown }).kind)}" is not transfer or member`
  }
}

function membersError(members: readonly Member[]): string | null {
  if (members.length === 0) return 'a ledger needs at least one member'
  if (members.length > LIMITS.members) {
    return `genesis has ${members.length} members, at most ${LIMITS.members}`
  }
  const seen = new Set<string>()
  for (const m of members) {
    const error = nodeIdError(m.id, 'member id') ?? memberNameError(m.name)
    if (error) return error
    if (seen.has(m.id)) return `member ${m.id.slice(0, 8)} is listed twice`
    seen.add(m.id)
  }
  return null
}

function assetsError(g: Genesis): string | null {
  if (g.assets.length > LIMITS.assets) {
    return `genesis has ${g.assets.length} assets, at most ${LIMITS.assets}`
  }
  const seen = new Set<string>()
  for (const a of g.assets) {
    const error = assetError(a.code)
    if (error) return error
    if (!Number.isInteger(a.decimals) || a.decimals < 0 || a.decimals > MAX_DECIMALS) {
      return `asset ${a.code} has ${a.decimals} decimals; it must be 0 to ${MAX_DECIMALS}`
    }
    if (seen.has(a.code)) return `asset ${a.code} is listed twice`
    seen.add(a.code)
  }
  return null
}

export function genesisError(g: Genesis): string | null {
  const nameError = textError(g.name, 'ledger name', 1, LIMITS.ledgerNameChars, false)
  if (nameError) return nameError
  if (!Number.isSafeInteger(g.time) || g.time < 0)
    return 'genesis time must be a non-negative integer'
  if (g.faultModel !== 'crash' && g.faultModel !== 'byzantine') {
    return `fault model "${String(g.faultModel)}" is not crash or byzantine`
  }
  return membersError(g.members) ?? assetsError(g)
}
