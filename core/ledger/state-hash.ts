/**
 * The pieces of the state hash. Each balance is a leaf encoded once and cached by the state, so
 * a block re-encodes only the balances it changed; the set of applied ids enters as a running
 * digest, so the hash costs nothing per historical id.
 */
import { Writer } from './codec.ts'
import { sha256, sha256HexOf } from './crypto.ts'
import { fromHex } from './hex.ts'
import type { PendingMemberChange } from './membership.ts'
import type { Hash, Member } from './types.ts'

const STATE_TAG = 'tally/state/v1'
const DIGEST_BYTES = 32
/** Sorts before every character an account or asset may hold, so keys sort as (account, asset). */
const SEPARATOR = '\u0000'

export const EMPTY_DIGEST = new Uint8Array(DIGEST_BYTES)

export function balanceKey(account: string, asset: string): string {
  return `${account}${SEPARATOR}${asset}`
}

export function splitKey(key: string): { account: string; asset: string } {
  const at = key.indexOf(SEPARATOR)
  return { account: key.slice(0, at), asset: key.slice(at + 1) }
}

export function leafBytes(key: string, balance: bigint): Uint8Array {
  const { account, asset } = splitKey(key)
  return new Writer().string(account).string(asset).i64(balance).finish()
}

export function membershipBytes(
  members: readonly Member[],
  pending: readonly PendingMemberChange[],
): Uint8Array {
  const w = new Writer().u32(members.length)
  for (const m of members) w.hash(m.id).string(m.name)
  w.u32(pending.length)
  for (const c of pending) {
    w.hash(c.member)
      .u8(c.action === 'add' ? 0 : 1)
      .u53(c.effective)
      .string(c.name)
  }
  return w.finish()
}

/** digest_h = sha256(digest_{h-1} || the ids block h committed or rejected, in order). */
export function nextDigest(previous: Uint8Array, ids: readonly Hash[]): Uint8Array {
  return sha256(previous, fromHex(ids.join('')))
}

export interface StateHashInput {
  readonly ledger: Hash
  readonly height: number
  readonly keys: readonly string[]
  readonly leaf: (key: string) => Uint8Array
  readonly membership: Uint8Array
  readonly digest: Uint8Array
}

export function stateHashOf(s: StateHashInput): Hash {
  const head = new Writer().string(STATE_TAG).hash(s.ledger).u53(s.height).u32(s.keys.length)
  return sha256HexOf(parts(head.finish(), s))
}

function* parts(head: Uint8Array, s: StateHashInput): Generator<Uint8Array> {
  yield head
  for (const key of s.keys) yield s.leaf(key)
  yield s.membership
  yield s.digest
}
