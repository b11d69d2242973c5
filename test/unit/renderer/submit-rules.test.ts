import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  accountProblem,
  amountProblem,
  assetProblem,
  checkTransfer,
  MAX_AMOUNT,
  memoProblem,
  plainAmount,
  type TransferForm,
  toMinorUnits,
} from '../../../renderer/src/state/submit-rules.ts'

const ok: TransferForm = { from: 'alice', to: 'bob', asset: 'USD', amount: '12.50', memo: '' }
const two = () => 2

describe('submit rules: accounts (the ledger accepts ^@?[a-z0-9._-]{1,64}$)', () => {
  it('accepts names the ledger accepts, with or without a leading @', () => {
    for (const a of ['alice', '@bank', 'a', 'x'.repeat(64), `@${'x'.repeat(64)}`, 'a.b_c-9']) {
      assert.equal(accountProblem(a, 'from'), null, a)
    }
  })

  it('refuses what the ledger refuses: empty, capitals, spaces, 65 characters, a second @', () => {
    for (const a of ['', 'Alice', 'al ice', 'x'.repeat(65), '@@bank', 'bank@', 'é']) {
      assert.notEqual(accountProblem(a, 'from'), null, a)
    }
  })

  it('refuses a transfer from an account to itself, under To', () => {
    const { errors, request } = checkTransfer({ ...ok, to: 'alice' }, two)
    assert.equal(request, null)
    assert.match(errors.to ?? '', /different/)
    assert.equal(errors.from, undefined)
  })
})

describe('submit rules: asset (^[A-Z0-9]{1,12}$)', () => {
  it('accepts capitals and digits up to 12, refuses the rest', () => {
    assert.equal(assetProblem('USD'), null)
    assert.equal(assetProblem('BTC8'), null)
    assert.equal(assetProblem('A'.repeat(12)), null)
    for (const a of ['', 'usd', 'US D', 'A'.repeat(13), 'EUR-1'])
      assert.notEqual(assetProblem(a), null, a)
  })
})

describe('submit rules: amount to minor units, exactly', () => {
  it('converts decimal text without floating point', () => {
    assert.equal(toMinorUnits('12.50', 2), '1250')
    assert.equal(toMinorUnits('0.1', 2), '10')
    assert.equal(toMinorUnits('.5', 2), '50')
    assert.equal(toMinorUnits('7.', 2), '700')
    assert.equal(toMinorUnits('1.500', 2), '150')
    assert.equal(toMinorUnits('0012', 0), '12')
    assert.equal(toMinorUnits('0.00000001', 8), '1')
    // Past 2^53 a float would round; the digits must come out as typed.
    assert.equal(toMinorUnits('90071992547409.93', 2), '9007199254740993')
  })

  it('refuses more decimals than the asset has, and anything but digits and one point', () => {
    assert.equal(toMinorUnits('1.005', 2), null)
    assert.equal(toMinorUnits('1.5', 0), null)
    for (const t of ['', '.', '1,000', '1e3', '-5', '+5', '1.2.3', '0x10', '12 50']) {
      assert.equal(toMinorUnits(t, 2), null, t)
    }
    assert.match(amountProblem('1.005', 'USD', 2) ?? '', /USD has 2 decimals/)
    assert.match(amountProblem('1.5', 'JPY', 0) ?? '', /whole number/)
  })

  it('requires more than zero', () => {
    assert.match(amountProblem('0', 'USD', 2) ?? '', /more than 0/)
    assert.match(amountProblem('0.00', 'USD', 2) ?? '', /more than 0/)
    assert.match(amountProblem('-5', 'USD', 2) ?? '', /more than 0/)
    assert.match(amountProblem('', 'USD', 2) ?? '', /Enter an amount/)
  })

  it('allows up to 2^63-1 minor units (the ledger maximum) and not one more', () => {
    assert.equal(MAX_AMOUNT, 9223372036854775807n)
    assert.equal(amountProblem('92233720368547758.07', 'USD', 2), null)
    assert.match(amountProblem('92233720368547758.08', 'USD', 2) ?? '', /too large/)
    assert.equal(amountProblem('9223372036854775807', 'X', 0), null)
    assert.notEqual(amountProblem('9223372036854775808', 'X', 0), null)
  })

  it('writes minor units back as a plain decimal, sign kept', () => {
    assert.equal(plainAmount('1250', 2), '12.50')
    assert.equal(plainAmount('5', 2), '0.05')
    assert.equal(plainAmount('-1234567', 2), '-12345.67')
    assert.equal(plainAmount('42', 0), '42')
  })
})

describe('submit rules: memo (at most 280 code points, may be empty)', () => {
  it('counts code points, so emoji count once', () => {
    assert.equal(memoProblem(''), null)
    assert.equal(memoProblem('😀'.repeat(280)), null)
    assert.match(memoProblem('😀'.repeat(281)) ?? '', /281 characters; at most 280/)
    assert.match(memoProblem('a'.repeat(281)) ?? '', /at most 280/)
  })

  it('refuses a lone surrogate, which the ledger cannot encode', () => {
    assert.notEqual(memoProblem('bad \ud800 half'), null)
  })
})

describe('submit rules: the request sent', () => {
  it('carries the amount as a digit string of minor units and trims accounts and asset', () => {
    const decimals = (a: string) => (a === 'BTC' ? 8 : 2)
    const { errors, request } = checkTransfer(
      { from: ' alice ', to: '@bank', asset: 'BTC ', amount: ' 0.5 ', memo: ' hi ' },
      decimals,
    )
    assert.deepEqual(errors, {})
    assert.deepEqual(request, {
      from: 'alice',
      to: '@bank',
      asset: 'BTC',
      amount: '50000000',
      memo: ' hi ',
    })
  })

  it('sends nothing while any field is at fault, and names every such field', () => {
    const { errors, request } = checkTransfer(
      { from: 'Alice', to: '', asset: 'usd', amount: 'ten', memo: 'x'.repeat(300) },
      two,
    )
    assert.equal(request, null)
    assert.deepEqual(Object.keys(errors).sort(), ['amount', 'asset', 'from', 'memo', 'to'])
  })
})

describe('submit rules agree with the ledger (core/ledger/rules.ts) on every sample', () => {
  it('accounts, assets, memos and amounts: accepted here exactly when the ledger accepts them', async () => {
    const core = await import('../../../core/ledger/rules.ts')
    const accounts = [
      'alice',
      '@bank',
      '',
      'A',
      'a'.repeat(64),
      'a'.repeat(65),
      '@',
      '@@x',
      'a b',
      'ü',
      '.',
      '-',
      '_x',
      'x\n',
    ]
    for (const a of accounts) {
      // The form trims what it sends, so the ledger sees the trimmed name.
      assert.equal(
        accountProblem(a, 'from') === null,
        core.accountError(a.trim()) === null,
        JSON.stringify(a),
      )
    }
    const assets = ['USD', 'usd', '', 'A'.repeat(12), 'A'.repeat(13), '1', 'E U', 'É']
    for (const a of assets)
      assert.equal(assetProblem(a) === null, core.assetError(a.trim()) === null, a)
    const memos = [
      '',
      'x',
      '\u0000tab\t',
      'é'.repeat(280),
      'é'.repeat(281),
      '😀'.repeat(280),
      '😀'.repeat(281),
      '\udfff',
    ]
    for (const m of memos)
      assert.equal(memoProblem(m) === null, core.memoError(m) === null, m.slice(0, 5))
    for (const minor of [0n, 1n, MAX_AMOUNT, MAX_AMOUNT + 1n]) {
      const text = plainAmount(minor, 2)
      assert.equal(amountProblem(text, 'USD', 2) === null, core.amountError(minor) === null, text)
    }
  })
})
