import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ago, formatAmount } from '../../../renderer/src/format.ts'

test('amounts are shown exactly with the asset decimals and grouped thousands', () => {
  assert.equal(formatAmount('123456789', 2), '1,234,567.89')
  assert.equal(formatAmount('5', 2), '0.05')
  assert.equal(formatAmount('-1000', 0), '-1,000')
  // Past 2^53 a number would round; the digits must come through unchanged.
  assert.equal(formatAmount('18446744073709551615', 2), '184,467,440,737,095,516.15')
})

test('times ago read as a person says them', () => {
  const now = 1_000_000_000
  assert.equal(ago(now, now), 'just now')
  assert.equal(ago(now - 12_000, now), '12 s ago')
  assert.equal(ago(now - 4 * 60_000, now), '4 min ago')
  assert.equal(ago(now - 3 * 3_600_000, now), '3 h ago')
})
