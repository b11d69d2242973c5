/** Every decoder of input from outside the process, or from a disk a crash may have torn. */
import type { FuzzTarget } from './engine.ts'
import { apiTargets } from './targets/api.ts'
import { joinTargets } from './targets/join.ts'
import { ledgerTargets } from './targets/ledger.ts'
import { voteLogTargets } from './targets/vote-log.ts'
import { walTargets } from './targets/wal.ts'
import { wireTargets } from './targets/wire.ts'

export const TARGETS: readonly FuzzTarget[] = [
  ...wireTargets,
  ...ledgerTargets,
  ...walTargets,
  ...voteLogTargets,
  ...joinTargets,
  ...apiTargets,
]

/** Splits `total` cases over the targets by weight, at least one each, summing to `total`. */
export function budget(targets: readonly FuzzTarget[], total: number): number[] {
  const weights = targets.reduce((n, t) => n + t.weight, 0)
  const shares = targets.map((t) => Math.max(1, Math.floor((total * t.weight) / weights)))
  const short = total - shares.reduce((n, s) => n + s, 0)
  if (short > 0) shares[0]! += short
  return shares
}
