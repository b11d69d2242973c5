/** Invariants the checker applies as events happen must be able to fail: each is shown a history that breaks it. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReplicaEffect } from '../../../core/consensus/replica.ts'
import { buildBlock } from '../../../core/ledger/block.ts'
import { Verifier } from '../../../core/ledger/crypto.ts'
import { blockHash } from '../../../core/ledger/hashing.ts'
import { signVote } from '../../../core/ledger/signing.ts'
import { LedgerState } from '../../../core/ledger/state.ts'
import type { Hash } from '../../../core/ledger/types.ts'
import { Checker } from '../../sim/checker.ts'
import { Prng } from '../../sim/prng.ts'
import { World } from '../../sim/world.ts'

function setup() {
  const verifier = new Verifier()
  const world = new World(new Prng(1), verifier, { seed: 1, nodes: 3, faultModel: 'crash' })
  const checker = new Checker(world.nodes, world.genesis, verifier)
  const state = LedgerState.fromGenesis(world.genesis)
  const commitAt = (time: number, outcomes: { id: Hash; status: 'committed' }[] = []) => {
    const { block } = buildBlock({
      state,
      candidates: [],
      proposer: world.nodes[0]!.keypair.id,
      round: 0,
      time,
      lastCommit: null,
    })
    const effect: Extract<ReplicaEffect, { type: 'committed' }> = {
      type: 'committed',
      block,
      hash: blockHash(block.header),
      commit: { height: 1, round: 0, blockHash: blockHash(block.header), signatures: [] },
      outcomes,
    }
    return effect
  }
  return { world, checker, commitAt }
}

test('agreement is violated when two nodes commit different blocks at one height', () => {
  const { checker, commitAt } = setup()
  checker.committed(0, commitAt(1), 0)
  checker.committed(1, commitAt(1), 0)
  assert.deepEqual(checker.violations, [])
  checker.committed(2, commitAt(2), 0)
  assert.match(checker.violations[0] ?? '', /^agreement: at height 1/)
})

test('no duplicates is violated when one entry id is settled at two heights', () => {
  const { checker, commitAt } = setup()
  const id = 'ab'.repeat(32)
  checker.committed(0, commitAt(1, [{ id, status: 'committed' }]), 0)
  const again = commitAt(1, [{ id, status: 'committed' }])
  checker.committed(
    0,
    { ...again, block: { ...again.block, header: { ...again.block.header, height: 2 } } },
    0,
  )
  assert.match(checker.violations[0] ?? '', /^no duplicates: n0 settled entry/)
})

test('no double signing is violated by two different votes of one signer in one step, whoever relays them', () => {
  const { world, checker } = setup()
  const kp = world.nodes[1]!.keypair
  const vote = (value: Hash | null) => ({
    type: 'vote' as const,
    vote: signVote(kp, {
      ledger: 'cd'.repeat(32),
      type: 'prevote',
      height: 3,
      round: 1,
      value,
      validator: kp.id,
    }),
  })
  checker.sent(1, vote('ef'.repeat(32)))
  checker.sent(0, vote('ef'.repeat(32))) // relayed by n0: the same vote, no violation
  assert.deepEqual(checker.violations, [])
  checker.sent(2, vote(null))
  checker.sent(0, vote(null)) // the conflict relayed again is not a second violation
  checker.sent(1, vote('ef'.repeat(32)))
  assert.match(checker.violations[0] ?? '', /^no double signing: n1 signed prevote/)
  assert.equal(checker.violations.length, 1)
})
