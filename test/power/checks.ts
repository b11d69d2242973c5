/**
 * The promises a power cut must not break, checked on the nodes' own database files once they
 * have stopped: one chain everywhere, no reported block replaced, every acknowledged entry final
 * exactly once on every node, and no transfer stored twice (a retry with its key that made a
 * second entry).
 */
import { MAX_PAGE } from '../../core/store/index.ts'
import { Store } from '../../core/store/store.ts'
import { type Acknowledged, MEMO_PREFIX } from './load.ts'
import type { Reported } from './reported.ts'

interface Chain {
  readonly node: number
  readonly hashes: string[]
  readonly store: Store
}

/** Reads every node's database (the nodes must be stopped) and returns what is wrong. */
export function checkLedgers(
  files: readonly string[],
  reported: Reported,
  acknowledged: ReadonlyMap<string, Acknowledged>,
): string[] {
  const violations: string[] = []
  const chains: Chain[] = []
  try {
    for (const [node, file] of files.entries()) {
      const store = Store.open(file)
      const hashes: string[] = []
      for (let h = 1; h <= store.height(); h++) hashes.push(store.blockHeader(h)!.hash)
      chains.push({ node, hashes, store })
    }
    violations.push(...sameChain(chains))
    violations.push(...reportedKept(chains, reported))
    violations.push(...entriesFinal(chains, acknowledged))
    violations.push(...onceEach(chains))
  } finally {
    for (const c of chains) c.store.close()
  }
  return violations
}

function sameChain(chains: readonly Chain[]): string[] {
  const out: string[] = []
  const top = Math.max(...chains.map((c) => c.hashes.length))
  for (let h = 1; h <= top; h++) {
    const at = chains.filter((c) => c.hashes.length >= h)
    const first = at[0]!.hashes[h - 1]
    const other = at.find((c) => c.hashes[h - 1] !== first)
    if (other !== undefined) {
      out.push(
        `fork at height ${h}: node${at[0]!.node} holds ${first!.slice(0, 8)}, node${other.node} ${other.hashes[h - 1]!.slice(0, 8)}`,
      )
      break // every block above a fork differs too
    }
  }
  return out
}

function reportedKept(chains: readonly Chain[], reported: Reported): string[] {
  const out = reported.conflicts.map((c) => `two blocks reported committed at ${c}`)
  for (const [height, { hash, node }] of reported.blocks) {
    const holders = chains.filter((c) => c.hashes.length >= height)
    if (holders.length === 0) {
      out.push(
        `block ${height} (${hash.slice(0, 8)}), reported committed by node${node}, is held by no node`,
      )
      continue
    }
    for (const c of holders) {
      if (c.hashes[height - 1] !== hash) {
        out.push(
          `block ${height} reported committed by node${node} as ${hash.slice(0, 8)} is ${c.hashes[height - 1]!.slice(0, 8)} on node${c.node}`,
        )
      }
    }
  }
  return out.slice(0, 20)
}

function entriesFinal(
  chains: readonly Chain[],
  acknowledged: ReadonlyMap<string, Acknowledged>,
): string[] {
  const out: string[] = []
  for (const c of chains) {
    // An id is final at most once by the ledger's rule; a block may still carry a replay of it,
    // which the ledger drops. What counts is the one height its record names.
    const blockIds = new Map<number, Set<string>>()
    const idsAt = (h: number): Set<string> => {
      let ids = blockIds.get(h)
      if (ids === undefined) {
        ids = new Set(c.store.block(h)?.block.entries.map((e) => e.id) ?? [])
        blockIds.set(h, ids)
      }
      return ids
    }
    let missing = 0
    for (const { id, node } of acknowledged.values()) {
      const rec = c.store.entry(id)
      if (rec === null || (rec.status !== 'committed' && rec.status !== 'rejected')) {
        if (missing++ < 5) {
          out.push(
            `entry ${id.slice(0, 8)}, acknowledged by node${node}, is ${rec === null ? 'unknown' : rec.status} on node${c.node}`,
          )
        }
        continue
      }
      if (rec.height === null || !idsAt(rec.height).has(id)) {
        out.push(
          `entry ${id.slice(0, 8)} on node${c.node} names height ${rec.height}, whose block lacks it`,
        )
      }
    }
    if (missing > 5)
      out.push(`… and ${missing - 5} more acknowledged entries not final on node${c.node}`)
  }
  return out
}

/** Every transfer the load made is one entry on each node: its memo is on one entry only. */
function onceEach(chains: readonly Chain[]): string[] {
  const out: string[] = []
  for (const c of chains) {
    const seen = new Map<string, string>()
    let twice = 0
    for (let before: number | undefined; ; ) {
      const page = c.store.entries({ limit: MAX_PAGE, ...(before === undefined ? {} : { before }) })
      for (const { entry } of page.entries) {
        const body = entry.entry.body
        if (body.kind !== 'transfer' || !body.memo.startsWith(MEMO_PREFIX)) continue
        const first = seen.get(body.memo)
        if (first === undefined) seen.set(body.memo, entry.id)
        else if (twice++ < 5) {
          out.push(
            `transfer "${body.memo}" is two entries on node${c.node}: ${first.slice(0, 8)} and ${entry.id.slice(0, 8)}`,
          )
        }
      }
      if (page.next === null) break
      before = page.next
    }
    if (twice > 5) out.push(`… and ${twice - 5} more transfers stored twice on node${c.node}`)
  }
  return out
}
