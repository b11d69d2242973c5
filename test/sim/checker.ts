/**
 * The invariants every schedule must keep. Each violation is one readable sentence that names
 * the invariant first, so a failing seed says at once what broke.
 */
import type { WireMessage } from '../../core/consensus/messages.ts'
import type { ReplicaEffect } from '../../core/consensus/replica.ts'
import { verifyBlock } from '../../core/ledger/block.ts'
import type { Verifier } from '../../core/ledger/crypto.ts'
import { blockHash } from '../../core/ledger/hashing.ts'
import { commitError } from '../../core/ledger/signing.ts'
import { LedgerState } from '../../core/ledger/state.ts'
import type { Genesis, Hash, NodeId } from '../../core/ledger/types.ts'
import type { SimNode, WorldObserver } from './world.ts'

export class Checker implements WorldObserver {
  readonly violations: string[] = []
  /** The first block hash committed at each height, by anyone honest. */
  private readonly decided = new Map<number, { hash: Hash; node: number }>()
  /** Every id each node saw committed or rejected, with the height. */
  private readonly settled: Map<Hash, number>[]
  /** Votes signed by honest nodes: (node, height, round, type) → value. */
  private readonly signed = new Map<string, string>()
  private readonly doubleSigned = new Set<string>()
  readonly acknowledged = new Map<Hash, { node: number; at: number }>()
  /** Per node, virtual time of each commit, for liveness. */
  readonly commitTimes: { height: number; round: number; at: number }[][]
  private readonly byzantine: Set<number>
  private readonly indexOf: Map<NodeId, number>
  traceLines: string[] | null = null

  constructor(
    nodes: readonly SimNode[],
    private readonly genesis: Genesis,
    private readonly verifier: Verifier,
  ) {
    this.settled = nodes.map(() => new Map())
    this.commitTimes = nodes.map(() => [])
    this.byzantine = new Set(nodes.filter((n) => n.byzantine).map((n) => n.index))
    this.indexOf = new Map(nodes.map((n) => [n.keypair.id, n.index]))
  }

  private violate(text: string): void {
    if (this.violations.length < 20) this.violations.push(text)
  }

  trace(at: number, line: string): void {
    this.traceLines?.push(`${at.toFixed(2).padStart(10)}  ${line}`)
  }

  committed(node: number, e: Extract<ReplicaEffect, { type: 'committed' }>, at: number): void {
    const h = e.block.header.height
    this.commitTimes[node]!.push({ height: h, round: e.commit.round, at })
    if (!this.byzantine.has(node)) {
      const first = this.decided.get(h)
      if (first === undefined) this.decided.set(h, { hash: e.hash, node })
      else if (first.hash !== e.hash) {
        this.violate(
          `agreement: at height ${h} n${first.node} committed ${first.hash.slice(0, 12)} but n${node} committed ${e.hash.slice(0, 12)}`,
        )
      }
    }
    const seen = this.settled[node]!
    for (const o of e.outcomes) {
      if (o.status === 'duplicate') continue
      const earlier = seen.get(o.id)
      if (earlier !== undefined && earlier !== h) {
        this.violate(
          `no duplicates: n${node} settled entry ${o.id.slice(0, 12)} at height ${earlier} and again at ${h}`,
        )
      }
      seen.set(o.id, h)
    }
  }

  // Keyed by the signer, not the sender: nodes also relay the votes of others.
  sent(_node: number, message: WireMessage): void {
    if (message.type !== 'vote') return
    const v = message.vote.vote
    const node = this.indexOf.get(v.validator)
    if (node === undefined || this.byzantine.has(node)) return
    const key = `${node}/${v.height}/${v.round}/${v.type}`
    const value = v.value ?? 'nil'
    const earlier = this.signed.get(key)
    if (earlier === undefined) this.signed.set(key, value)
    else if (earlier !== value && !this.doubleSigned.has(key)) {
      this.doubleSigned.add(key) // one report per conflict, however often it is relayed
      this.violate(
        `no double signing: n${node} signed ${v.type} ${earlier.slice(0, 12)} and ${value.slice(0, 12)} at height ${v.height} round ${v.round}`,
      )
    }
  }

  acked(node: number, id: Hash, at: number): void {
    if (!this.acknowledged.has(id)) this.acknowledged.set(id, { node, at })
  }

  /** Acknowledged entries that `node` has not settled yet. */
  unsettled(node: SimNode, survivors: ReadonlySet<number>): Hash[] {
    const state = node.replica?.ledgerState
    if (state === undefined) return []
    const out: Hash[] = []
    for (const [id, a] of this.acknowledged) {
      if (survivors.has(a.node) && !state.isCommitted(id)) out.push(id)
    }
    return out
  }

  /** Final checks on the chains the live nodes hold. */
  finish(nodes: readonly SimNode[]): void {
    const live = nodes.filter((n) => n.replica !== null && !n.byzantine)
    if (live.length === 0) return
    const longest = live.reduce((a, b) => (b.replica!.height > a.replica!.height ? b : a))
    this.checkChain(longest)
    const byHeight = new Map<number, { hash: Hash; node: number }>()
    for (const n of live) {
      const s = n.replica!.ledgerState
      const same = byHeight.get(s.height)
      if (same === undefined) byHeight.set(s.height, { hash: s.stateHash, node: n.index })
      else if (same.hash !== s.stateHash) {
        this.violate(
          `same state: n${same.node} and n${n.index} both at height ${s.height} with state hashes ${same.hash.slice(0, 12)} and ${s.stateHash.slice(0, 12)}`,
        )
      }
    }
  }

  // validity: replay the chain from genesis in a fresh ledger, verifying every block and commit.
  private checkChain(node: SimNode): void {
    const state = LedgerState.fromGenesis(this.genesis)
    const height = node.replica!.height
    for (let h = 1; h <= height; h++) {
      const stored = node.disk.block(h)
      if (stored === null) {
        this.violate(`validity: n${node.index} is at height ${height} but has no block ${h}`)
        return
      }
      const { block, commit } = stored
      const verdict = verifyBlock(state, block, this.verifier)
      if (!verdict.ok) {
        this.violate(`validity: n${node.index} block ${h} does not verify: ${verdict.error}`)
        return
      }
      const bad =
        commit.blockHash !== blockHash(block.header)
          ? 'it is for another block'
          : commitError(
              this.verifier,
              commit,
              state.validators(),
              this.genesis.faultModel,
              state.ledger,
            )
      if (bad !== null) {
        this.violate(`validity: n${node.index} commit of block ${h} does not verify: ${bad}`)
        return
      }
      state.apply(block, verdict.execution)
    }
    if (state.stateHash !== node.replica!.ledgerState.stateHash) {
      this.violate(`same state: n${node.index}'s state differs from a replay of its own chain`)
    }
  }
}
