import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MemberChange } from '../../../core/ledger/index.ts'
import { entryBodyError, formatAmount, genesisError, LIMITS } from '../../../core/ledger/index.ts'
import { keypair, transfer } from './helpers.ts'

test('a well-formed transfer passes the rules', () => {
  assert.equal(entryBodyError(transfer({ from: 'alice', to: '@bank.eu', memo: 'lunch' })), null)
})

test('account names must match [a-z0-9._-]{1,64}, optionally with a leading @', () => {
  assert.equal(
    entryBodyError(transfer({ to: 'Bob' })),
    'to account "Bob" must match [a-z0-9._-]{1,64}, optionally with a leading @',
  )
  assert.match(entryBodyError(transfer({ from: '' })) ?? '', /from account "" must match/)
  assert.match(entryBodyError(transfer({ to: 'a b' })) ?? '', /to account "a b"/)
  assert.match(entryBodyError(transfer({ to: '@@x' })) ?? '', /to account "@@x"/)
  assert.match(entryBodyError(transfer({ to: 'x'.repeat(65) })) ?? '', /must match/)
  assert.equal(entryBodyError(transfer({ to: 'x'.repeat(64) })), null)
  assert.equal(entryBodyError(transfer({ to: `@${'x'.repeat(64)}` })), null)
  assert.equal(entryBodyError(transfer({ to: 'a.b_c-9' })), null)
})

test('asset codes must match [A-Z0-9]{1,12}', () => {
  assert.equal(entryBodyError(transfer({ asset: 'ABCDEFGHIJKL' })), null)
  assert.equal(
    entryBodyError(transfer({ asset: 'ABCDEFGHIJKLM' })),
    'asset "ABCDEFGHIJKLM" must match [A-Z0-9]{1,12}',
  )
  assert.match(entryBodyError(transfer({ asset: 'usd' })) ?? '', /asset "usd"/)
  assert.match(entryBodyError(transfer({ asset: '' })) ?? '', /asset ""/)
})

test('amount must be a positive integer of minor units, at most the maximum', () => {
  const reason = 'amount must be a positive integer of minor units'
  assert.equal(entryBodyError(transfer({ amount: 0n })), reason)
  assert.equal(entryBodyError(transfer({ amount: -5n })), reason)
  assert.equal(entryBodyError(transfer({ amount: 5 as unknown as bigint })), reason)
  assert.equal(entryBodyError(transfer({ amount: LIMITS.maxAmount })), null)
  assert.match(
    entryBodyError(transfer({ amount: LIMITS.maxAmount + 1n })) ?? '',
    /exceeds the maximum/,
  )
})

test('memo is at most 280 characters, counted as code points', () => {
  assert.equal(entryBodyError(transfer({ memo: 'x'.repeat(280) })), null)
  assert.equal(
    entryBodyError(transfer({ memo: 'x'.repeat(281) })),
    'memo is 281 characters; at most 280',
  )
  // 280 emoji are 560 UTF-16 units but 280 characters.
  assert.equal(entryBodyError(transfer({ memo: '😀'.repeat(280) })), null)
  assert.equal(entryBodyError(transfer({ memo: 'line\nbreak' })), null)
})

test('memo with an unpaired surrogate is refused (it has no UTF-8 encoding)', () => {
  assert.match(entryBodyError(transfer({ memo: 'a\uD83D' })) ?? '', /unpaired/)
})

test('from and to must differ', () => {
  assert.equal(
    entryBodyError(transfer({ from: 'alice', to: 'alice' })),
    'from and to are the same account',
  )
})

function memberChange(fields: Partial<Omit<MemberChange, 'kind'>>): MemberChange {
  return { kind: 'member', action: 'add', member: keypair(9).id, name: 'laptop', ...fields }
}

test('a member add needs a name of 1 to 64 characters without control characters', () => {
  assert.equal(entryBodyError(memberChange({})), null)
  assert.equal(entryBodyError(memberChange({ name: '' })), 'member name is empty')
  assert.equal(
    entryBodyError(memberChange({ name: 'n'.repeat(65) })),
    'member name is 65 characters; at most 64',
  )
  assert.equal(
    entryBodyError(memberChange({ name: 'a\tb' })),
    'member name has a control character',
  )
})

test('a member removal carries an empty name', () => {
  assert.equal(entryBodyError(memberChange({ action: 'remove', name: '' })), null)
  assert.equal(
    entryBodyError(memberChange({ action: 'remove', name: 'x' })),
    'member name must be empty when removing a member',
  )
})

test('a member id is 64 lowercase hex characters', () => {
  assert.match(
    entryBodyError(memberChange({ member: 'ab' })) ?? '',
    /member must be 64 lowercase hex/,
  )
  assert.match(
    entryBodyError(memberChange({ member: keypair(9).id.toUpperCase() })) ?? '',
    /64 lowercase hex/,
  )
})

test('an unknown entry kind is refused', () => {
  const body = { kind: 'mint' } as unknown as MemberChange
  assert.equal(entryBodyError(body), 'entry kind "mint" is not transfer or member')
})

test('genesis needs a name, one or more distinct members and sane asset decimals', () => {
  const g = {
    name: 'Office',
    time: 0,
    faultModel: 'crash' as const,
    members: [{ id: keypair(1).id, name: 'a' }],
    assets: [{ code: 'BTC', decimals: 8 }],
  }
  assert.equal(genesisError(g), null)
  assert.equal(genesisError({ ...g, name: '' }), 'ledger name is empty')
  assert.equal(genesisError({ ...g, members: [] }), 'a ledger needs at least one member')
  assert.match(
    genesisError({ ...g, members: [g.members[0]!, g.members[0]!] }) ?? '',
    /listed twice/,
  )
  assert.match(genesisError({ ...g, assets: [{ code: 'BTC', decimals: 19 }] }) ?? '', /0 to 18/)
  assert.match(
    genesisError({
      ...g,
      assets: [
        { code: 'X', decimals: 0 },
        { code: 'X', decimals: 1 },
      ],
    }) ?? '',
    /asset X is listed twice/,
  )
  assert.match(genesisError({ ...g, faultModel: 'paxos' as 'crash' }) ?? '', /fault model "paxos"/)
})

test('formatAmount shows minor units with the asset decimals, exactly', () => {
  assert.equal(formatAmount(100n, 2), '1.00')
  assert.equal(formatAmount(5n, 2), '0.05')
  assert.equal(formatAmount(-1234n, 2), '-12.34')
  assert.equal(formatAmount(7n, 0), '7')
  assert.equal(formatAmount(1n, 8), '0.00000001')
  assert.equal(formatAmount(LIMITS.maxAmount, 2), '92233720368547758.07')
})
