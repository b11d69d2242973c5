import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fromHex, toHex } from '../../../core/ledger/index.ts'

test('hex round-trips bytes as lowercase', () => {
  const bytes = new Uint8Array([0, 1, 0xab, 0xff])
  assert.equal(toHex(bytes), '0001abff')
  assert.deepEqual(fromHex('0001abff'), bytes)
})

test('fromHex refuses odd length, non-hex characters and uppercase (one spelling per id)', () => {
  assert.throws(() => fromHex('abc'), /odd length/)
  assert.throws(() => fromHex('zz'), /other than 0-9 and a-f/)
  assert.throws(() => fromHex('AB'), /other than 0-9 and a-f/)
})

test('toHex reads only the view, not the whole underlying buffer', () => {
  const buffer = new Uint8Array([1, 2, 3, 4])
  assert.equal(toHex(buffer.subarray(1, 3)), '0203')
})
