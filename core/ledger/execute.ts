/**
 * The rules that turn a block's entries into outcomes and balance changes. Deterministic and
 * read-only on the state it is given: every node computes the same outcomes from the same state.
 */
import { formatAmount } from './amount.ts'
import { shortId } from './hex.ts'
import { LIMITS } from './limits.ts'
import type { PendingMemberChange } from './membership.ts'
import { MEMBER_CHANGE_DELAY, projectedMembers } from './membership.ts'
import { entryBodyError, isExternalAccount } from './rules.ts'
import { balanceKey } from './state-hash.ts'
import type {
  Entry,
  EntryOutcome,
  Hash,
  Member,
  MemberChange,
  NodeId,
  SignedEntry,
  Transfer,
} from './types.ts'

/** What execution reads from the state before the block. */
export interface StateView {
  readonly height: number
  readonly members: readonly Member[]
  readonly memberIds: ReadonlySet<NodeId>
  readonly pending: readonly PendingMemberChange[]
  isApplied(id: Hash): boolean
  balanceOf(key: string): bigint
  decimals(asset: string): number
}

export interface BlockEffects {
  readonly outcomes: readonly EntryOutcome[]
  /** Committed and rejected ids in block order (duplicates excluded). */
  readonly applied: readonly Hash[]
  /** New balances by balance key; 0n means the balance is gone. */
  readonly balances: ReadonlyMap<string, bigint>
  /** Every pending change after the block, before activation. */
  readonly pending: readonly PendingMemberChange[]
}

class BlockRun {
  readonly outcomes: EntryOutcome[] = []
  readonly applied: Hash[] = []
  readonly balances = new Map<string, bigint>()
  readonly pending: PendingMemberChange[]
  readonly #seen = new Set<Hash>()
  #projected: Set<NodeId> | null = null
  /** The member change this block accepted, if any. */
  #changed: PendingMemberChange | null = null
  readonly #view: StateView

  constructor(view: StateView) {
    this.#view = view
    this.pending = [...view.pending]
  }

  run(se: SignedEntry): void {
    const { id } = se
    if (this.#view.isApplied(id) || this.#seen.has(id)) {
      this.outcomes.push({ id, status: 'duplicate' })
      return
    }
    this.#seen.add(id)
    this.applied.push(id)
    const reason = this.#reject(se.entry)
    this.outcomes.push(
      reason === null ? { id, status: 'committed' } : { id, status: 'rejected', reason },
    )
  }

  /** Applies the entry and returns null, or returns why it is rejected and changes nothing. */
  #reject(entry: Entry): string | null {
    if (!this.#view.memberIds.has(entry.author))
      return `author ${shortId(entry.author)} is not a member`
    // Blocks are verified before they are applied; this keeps execution total on any input.
    const ruleError = entryBodyError(entry.body)
    if (ruleError) return ruleError
    return entry.body.kind === 'transfer' ? this.#transfer(entry.body) : this.#member(entry.body)
  }

  #balance(key: string): bigint {
    return this.balances.get(key) ?? this.#view.balanceOf(key)
  }

  #transfer(t: Transfer): string | null {
    const fromKey = balanceKey(t.from, t.asset)
    const toKey = balanceKey(t.to, t.asset)
    const fromBefore = this.#balance(fromKey)
    const from = fromBefore - t.amount
    const to = this.#balance(toKey) + t.amount
    if (from < 0n && !isExternalAccount(t.from)) {
      const decimals = this.#view.decimals(t.asset)
      const has = formatAmount(fromBefore, decimals)
      const needs = formatAmount(t.amount, decimals)
      return `insufficient funds: ${t.from} has ${has} ${t.asset}, needs ${needs} ${t.asset}`
    }
    if (from < -LIMITS.maxAmount) return `balance of ${t.from} would overflow`
    if (to > LIMITS.maxAmount) return `balance of ${t.to} would overflow`
    this.balances.set(fromKey, from)
    this.balances.set(toKey, to)
    return null
  }

  #member(m: MemberChange): string | null {
    this.#projected ??= projectedMembers(this.#view.members, this.pending)
    const projected = this.#projected
    const who = `member ${shortId(m.member)}`
    const pendingFor = this.pending.findLast((c) => c.member === m.member)
    if (m.action === 'add') {
      if (projected.has(m.member)) {
        return pendingFor
          ? `${who} is already a member from height ${pendingFor.effective}`
          : `${who} is already a member`
      }
      if (projected.size >= LIMITS.members) {
        return `the ledger already has ${projected.size} members, at most ${LIMITS.members}`
      }
    } else {
      if (!projected.has(m.member)) {
        return pendingFor
          ? `${who} is already being removed from height ${pendingFor.effective}`
          : `${who} is not a member`
      }
      if (projected.size === 1) return 'cannot remove the last member'
    }
    const timing = this.#timingRefusal()
    if (timing !== null) return timing
    const effective = this.#view.height + 1 + MEMBER_CHANGE_DELAY
    const change: PendingMemberChange = {
      member: m.member,
      action: m.action,
      effective,
      name: m.name,
    }
    this.pending.push(change)
    this.#changed = change
    if (m.action === 'add') projected.add(m.member)
    else projected.delete(m.member)
    return null
  }

  /**
   * One change at a time, so that each is judged (by the removal guard, by the user) against the
   * member set it actually changes: two changes in flight can each leave a quorum online on their
   * own and none together (see docs/consensus.md, "Membership changes"). Checked after the
   * change's own validity, so a change that can never apply is not told to come back.
   */
  #timingRefusal(): string | null {
    const first = this.#changed
    if (first !== null) {
      return `one membership change per block: this one came after the ${describe(first)} in the same block; submit it again`
    }
    const inFlight = this.#view.pending.at(-1)
    if (inFlight !== undefined) {
      return `one membership change at a time: the ${describe(inFlight)} takes effect at height ${inFlight.effective}; submit this one again from then`
    }
    return null
  }
}

function describe(c: PendingMemberChange): string {
  return `${c.action === 'add' ? 'addition' : 'removal'} of member ${shortId(c.member)}`
}

/** Executes `entries` as block view.height + 1 would. */
export function executeEntries(view: StateView, entries: readonly SignedEntry[]): BlockEffects {
  const run = new BlockRun(view)
  for (const se of entries) run.run(se)
  return run
}
