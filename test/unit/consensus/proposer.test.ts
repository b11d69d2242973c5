import assert from 'node:assert/strict'
import { test } from 'node:test'
import { missingFrom, proposerFor } from '../../../core/consensus/proposer.ts'
import type { NodeId, Validator } from '../../../core/ledger/index.ts'
import { LedgerState } from '../../../core/ledger/index.ts'
import { keypairs, makeGenesis } from '../ledger/helpers.ts'

// Four validators in id order, named by their index.
const kps = keypairs(4)
const validators: Validator[] = kps.map((k) => ({ id: k.id, weight: 1 }))
const [a, b, c, d] = validators.map((v) => v.id) as [NodeId, NodeId, NodeId, NodeId]

/** The proposers of `height` for rounds 0, 1, ... `rounds - 1`. */
function schedule(height: number, passOver: readonly NodeId[], rounds = 4): NodeId[] {
  return Array.from({ length: rounds }, (_, r) => proposerFor(validators, height, r, passOver))
}

test('proposerFor: with nobody passed over, height h round r is the validator at (h + r) mod n in id order', () => {
  assert.deepEqual(schedule(1, []), [b, c, d, a])
  assert.deepEqual(schedule(2, []), [c, d, a, b])
  assert.deepEqual(schedule(4, []), [a, b, c, d])
  for (let h = 1; h <= 9; h++) {
    for (let r = 0; r <= 9; r++) {
      assert.equal(proposerFor(validators, h, r, []), validators[(h + r) % 4]!.id, `h ${h} r ${r}`)
    }
  }
})

test('proposerFor: the rotation is over the ledger validators sorted by id, whatever the genesis order', () => {
  const state = LedgerState.fromGenesis(makeGenesis([...kps].reverse()))
  const vs = state.validators()
  assert.deepEqual(
    vs.map((v) => v.id),
    [a, b, c, d],
  )
  assert.deepEqual(
    [0, 1, 2, 3].map((r) => proposerFor(vs, 1, r, [])),
    [b, c, d, a],
  )
})

test('proposerFor: round 0 passes over a validator missing from the last commit, and later rounds continue from there', () => {
  // Height 1 would start at b; b is missing, so c proposes round 0 and the rotation goes on from c.
  assert.deepEqual(schedule(1, [b], 5), [c, d, a, b, c])
})

test('proposerFor: several missing validators in a row are all passed over in round 0', () => {
  assert.deepEqual(schedule(1, [b, c]), [d, a, b, c])
  // Wrapping around the end of the list: height 3 starts at d.
  assert.deepEqual(schedule(3, [d, a]), [b, c, d, a])
})

test('proposerFor: a missing validator that is not the rotation start changes nothing', () => {
  assert.deepEqual(schedule(1, [a]), schedule(1, []))
  assert.deepEqual(schedule(1, [d, a]), schedule(1, []))
})

test('proposerFor: with everyone missing it falls back to plain rotation', () => {
  assert.deepEqual(schedule(1, [a, b, c, d]), [b, c, d, a])
})

test('proposerFor: an empty validator set is an error, not a proposer', () => {
  assert.throws(() => proposerFor([], 1, 0, []), /no validators/)
})

test('missingFrom: the validators that did not sign, in validator order', () => {
  assert.deepEqual(missingFrom(validators, [c, a]), [b, d])
  assert.deepEqual(missingFrom(validators, [a, b, c, d]), [])
  assert.deepEqual(missingFrom(validators, []), [a, b, c, d])
})

test('missingFrom: signers who are not validators are ignored', () => {
  const stranger = 'ff'.repeat(32)
  assert.deepEqual(missingFrom(validators, [stranger, a, b]), [c, d])
})

test('missingFrom: with no last commit (null) nobody is missing', () => {
  assert.deepEqual(missingFrom(validators, null), [])
})
