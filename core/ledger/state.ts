/**
 * The ledger state machine: balances, members and the ids already applied, advanced one block
 * at a time. `execute` computes a block's effects without touching the state; `apply` adopts
 * them, so a proposer or verifier that executed a block does not execute it twice.
 */

import type { StateView } from './execute.ts'
import { executeEntries } from './execute.ts'
import { blockHash, ledgerId } from './hashing.ts'
import { DEFAULT_DECIMALS } from './limits.ts'
import type { PendingMemberChange } from './membership.ts'
import { activate, byId, validatorsOf } from './membership.ts'
import { genesisError } from './rules.ts'
import {
  balanceKey,
  EMPTY_DIGEST,
  leafBytes,
  membershipBytes,
  nextDigest,
  splitKey,
  stateHashOf,
} from './state-hash.ts'
import type {
  Block,
  EntryOutcome,
  Genesis,
  Hash,
  Member,
  NodeId,
  SignedEntry,
  Validator,
} from './types.ts'
import { ZERO_HASH } from './types.ts'

export type { PendingMemberChange } from './membership.ts'
export { MEMBER_CHANGE_DELAY } from './membership.ts'

export interface Execution {
  readonly height: number
  readonly outcomes: readonly EntryOutcome[]
  readonly stateHash: Hash
}

/** What `apply` adopts from an execution; kept off the public object. */
interface Overlay {
  /** The state version it was computed against; any apply or clone makes a new one. */
  readonly base: object
  readonly entryIds: readonly Hash[]
  readonly balances: ReadonlyMap<string, bigint>
  readonly leaves: ReadonlyMap<string, Uint8Array>
  readonly keys: readonly string[]
  readonly members: readonly Member[]
  readonly pending: readonly PendingMemberChange[]
  readonly membership: Uint8Array
  readonly applied: readonly Hash[]
  readonly digest: Uint8Array
}

const overlays = new WeakMap<Execution, Overlay>()

/**
 * The sorted balance keys after `changed`. The arrays are never mutated, so states and
 * executions share them freely.
 */
function mergeKeys(
  keys: readonly string[],
  changed: ReadonlyMap<string, bigint>,
  had: (key: string) => boolean,
): readonly string[] {
  const added: string[] = []
  const removed = new Set<string>()
  for (const [key, value] of changed) {
    if (value !== 0n && !had(key)) added.push(key)
    else if (value === 0n && had(key)) removed.add(key)
  }
  if (added.length === 0 && removed.size === 0) return keys
  added.sort()
  const merged: string[] = []
  let i = 0
  for (const key of keys) {
    while (i < added.length && added[i]! < key) merged.push(added[i++]!)
    if (!removed.has(key)) merged.push(key)
  }
  while (i < added.length) merged.push(added[i++]!)
  return merged
}

interface Fields {
  height: number
  lastBlockHash: Hash
  stateHash: Hash
  balances: Map<string, bigint>
  leaves: Map<string, Uint8Array>
  keys: readonly string[]
  members: readonly Member[]
  validators: readonly Validator[]
  previousValidators: readonly Validator[]
  pending: readonly PendingMemberChange[]
  membership: Uint8Array
  applied: Set<Hash>
  digest: Uint8Array
}

export class LedgerState {
  readonly genesis: Genesis
  readonly ledger: Hash
  readonly #decimals: ReadonlyMap<string, number>
  #f: Fields
  #memberIds: ReadonlySet<NodeId>
  #version: object = {}

  private constructor(genesis: Genesis, ledger: Hash, fields: Fields) {
    this.genesis = genesis
    this.ledger = ledger
    this.#decimals = new Map(genesis.assets.map((a) => [a.code, a.decimals]))
    this.#f = fields
    this.#memberIds = new Set(fields.members.map((m) => m.id))
  }

  static fromGenesis(genesis: Genesis): LedgerState {
    const error = genesisError(genesis)
    if (error) throw new Error(`invalid genesis: ${error}`)
    const ledger = ledgerId(genesis)
    const members = genesis.members.map((m) => ({ id: m.id, name: m.name })).sort(byId)
    const validators = validatorsOf(members)
    const membership = membershipBytes(members, [])
    const stateHash = stateHashOf({
      ledger,
      height: 0,
      keys: [],
      leaf: () => new Uint8Array(),
      membership,
      digest: EMPTY_DIGEST,
    })
    return new LedgerState(genesis, ledger, {
      height: 0,
      lastBlockHash: ZERO_HASH,
      stateHash,
      balances: new Map(),
      leaves: new Map(),
      keys: [],
      members,
      validators,
      previousValidators: validators,
      pending: [],
      membership,
      applied: new Set(),
      digest: EMPTY_DIGEST,
    })
  }

  get height(): number {
    return this.#f.height
  }

  get lastBlockHash(): Hash {
    return this.#f.lastBlockHash
  }

  get stateHash(): Hash {
    return this.#f.stateHash
  }

  /** The set that votes on height this.height + 1. */
  validators(): readonly Validator[] {
    return this.#f.validators
  }

  /** The set that voted on this.height, which signed block this.height + 1's lastCommit. */
  previousValidators(): readonly Validator[] {
    return this.#f.previousValidators
  }

  members(): readonly Member[] {
    return this.#f.members
  }

  pendingMemberChanges(): readonly PendingMemberChange[] {
    return this.#f.pending
  }

  decimals(asset: string): number {
    return this.#decimals.get(asset) ?? DEFAULT_DECIMALS
  }

  balance(account: string, asset: string): bigint {
    return this.#f.balances.get(balanceKey(account, asset)) ?? 0n
  }

  /** Non-zero balances sorted by account, then asset. */
  balances(): readonly { account: string; asset: string; amount: bigint }[] {
    const { balances, keys } = this.#f
    return keys.map((key) => ({ ...splitKey(key), amount: balances.get(key)! }))
  }

  /** True when the id was committed or rejected at some height: it can never apply again. */
  isCommitted(id: Hash): boolean {
    return this.#f.applied.has(id)
  }

  execute(entries: readonly SignedEntry[]): Execution {
    const f = this.#f
    const height = f.height + 1
    const view: StateView = {
      height: f.height,
      members: f.members,
      memberIds: this.#memberIds,
      pending: f.pending,
      isApplied: (id) => f.applied.has(id),
      balanceOf: (key) => f.balances.get(key) ?? 0n,
      decimals: (asset) => this.decimals(asset),
    }
    const effects = executeEntries(view, entries)
    const leaves = new Map<string, Uint8Array>()
    for (const [key, value] of effects.balances) {
      if (value !== 0n) leaves.set(key, leafBytes(key, value))
    }
    const keys = mergeKeys(f.keys, effects.balances, (key) => f.balances.has(key))
    // Changes effective at height + 1 are in the set that votes on it, i.e. after this block.
    // Pending changes only grow within a block: the same length means the same list.
    const grown = effects.pending.length === f.pending.length ? f.pending : effects.pending
    const { members, pending } = activate(f.members, grown, height + 1)
    const membership =
      members === f.members && pending === f.pending
        ? f.membership
        : membershipBytes(members, pending)
    const digest = nextDigest(f.digest, effects.applied)
    const stateHash = stateHashOf({
      ledger: this.ledger,
      height,
      keys,
      leaf: (key) => leaves.get(key) ?? f.leaves.get(key)!,
      membership,
      digest,
    })
    const execution: Execution = { height, outcomes: effects.outcomes, stateHash }
    overlays.set(execution, {
      base: this.#version,
      entryIds: entries.map((se) => se.id),
      balances: effects.balances,
      leaves,
      keys,
      members,
      pending,
      membership,
      applied: effects.applied,
      digest,
    })
    return execution
  }

  apply(block: Block, execution?: Execution): readonly EntryOutcome[] {
    const { header } = block
    const f = this.#f
    if (header.ledger !== this.ledger) {
      throw new Error(
        `block belongs to ledger ${header.ledger.slice(0, 8)}, not ${this.ledger.slice(0, 8)}`,
      )
    }
    if (header.height !== f.height + 1) {
      throw new Error(`block height ${header.height} does not follow height ${f.height}`)
    }
    if (header.prevHash !== f.lastBlockHash) {
      throw new Error(`block ${header.height} does not extend block ${f.lastBlockHash.slice(0, 8)}`)
    }
    const reusable = execution !== undefined && this.#computedHere(execution, block.entries)
    const exec = reusable ? execution : this.execute(block.entries)
    if (exec.stateHash !== header.stateHash) {
      throw new Error(
        `block ${header.height} claims state ${header.stateHash.slice(0, 8)} but applying it gives ${exec.stateHash.slice(0, 8)}`,
      )
    }
    this.#adopt(overlays.get(exec)!, exec, blockHash(header))
    return exec.outcomes
  }

  /** Whether `execution` came from this state, at this height, for exactly these entries. */
  #computedHere(execution: Execution, entries: readonly SignedEntry[]): boolean {
    const o = overlays.get(execution)
    if (!o || o.base !== this.#version || o.entryIds.length !== entries.length) return false
    return entries.every((se, i) => se.id === o.entryIds[i])
  }

  #adopt(o: Overlay, exec: Execution, lastBlockHash: Hash): void {
    const f = this.#f
    for (const [key, value] of o.balances) {
      if (value === 0n) {
        f.balances.delete(key)
        f.leaves.delete(key)
      } else {
        f.balances.set(key, value)
        f.leaves.set(key, o.leaves.get(key)!)
      }
    }
    for (const id of o.applied) f.applied.add(id)
    const membersChanged = o.members !== f.members
    this.#f = {
      ...f,
      height: exec.height,
      lastBlockHash,
      stateHash: exec.stateHash,
      keys: o.keys,
      members: o.members,
      validators: membersChanged ? validatorsOf(o.members) : f.validators,
      previousValidators: f.validators,
      pending: o.pending,
      membership: o.membership,
      digest: o.digest,
    }
    if (membersChanged) this.#memberIds = new Set(o.members.map((m) => m.id))
    this.#version = {}
  }

  clone(): LedgerState {
    const f = this.#f
    return new LedgerState(this.genesis, this.ledger, {
      ...f,
      balances: new Map(f.balances),
      leaves: new Map(f.leaves),
      applied: new Set(f.applied),
    })
  }
}
