import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { EntryView } from '../../../core/api/types.ts'
import { csvField, ENTRY_COLUMNS, entriesCsv } from '../../../renderer/src/csv.ts'

const ctx = {
  decimalsOf: (a: string) => (a === 'BTC' ? 8 : 2),
  members: [{ id: 'cd'.repeat(32), shortId: 'ABCD-EFGH-IJKL', name: 'desk' }],
}

const base = {
  id: 'ab'.repeat(32),
  author: 'cd'.repeat(32),
  nonce: 1,
  time: Date.UTC(2026, 2, 5, 14, 15, 2),
  received: 0,
  local: true,
}

describe('CSV fields (RFC 4180)', () => {
  it('quotes a field with a comma, quote or line break and doubles its quotes', () => {
    assert.equal(csvField('plain'), 'plain')
    assert.equal(csvField('a,b'), '"a,b"')
    assert.equal(csvField('say "hi"'), '"say ""hi"""')
    assert.equal(csvField('two\nlines'), '"two\nlines"')
    assert.equal(csvField('cr\rhere'), '"cr\rhere"')
    assert.equal(csvField(null), '')
  })

  it('neutralises text a spreadsheet would run as a formula', () => {
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`)
    assert.equal(csvField('+1'), "'+1")
    assert.equal(csvField('-2'), "'-2")
    assert.equal(csvField('@bank'), "'@bank")
    assert.equal(csvField('\tx'), "'\tx")
    assert.equal(csvField('\rx'), `"'\rx"`)
  })

  it('leaves numeric fields alone, negative ones included', () => {
    assert.equal(csvField('-12.50', true), '-12.50')
    assert.equal(csvField(7, true), '7')
  })
})

describe('entries as CSV', () => {
  it('writes the header and one CRLF-ended row per entry, amounts as plain decimals', () => {
    const entries: EntryView[] = [
      {
        ...base,
        kind: 'transfer',
        status: 'rejected',
        height: 9,
        reason: 'alice has 10.00 USD, needs 50.00',
        from: 'alice',
        to: '@bank',
        asset: 'USD',
        amount: '123456789',
        memo: '=SUM(A1)',
      },
      {
        ...base,
        kind: 'transfer',
        status: 'submitted',
        from: 'a',
        to: 'b',
        asset: 'BTC',
        amount: '5',
        memo: '',
        author: 'ee'.repeat(32),
      },
      {
        ...base,
        kind: 'member',
        status: 'committed',
        height: 2,
        action: 'add',
        member: '12'.repeat(32),
        name: 'till',
      },
    ]
    const csv = entriesCsv(entries, ctx)
    const lines = csv.split('\r\n')
    assert.equal(lines[0], ENTRY_COLUMNS.join(','))
    assert.equal(lines[0], 'id,time,height,status,reason,kind,from,to,asset,amount,memo,author')
    assert.equal(
      lines[1],
      `${'ab'.repeat(32)},2026-03-05T14:15:02.000Z,9,rejected,"alice has 10.00 USD, needs 50.00",transfer,alice,'@bank,USD,1234567.89,'=SUM(A1),desk`,
    )
    assert.equal(
      lines[2],
      `${'ab'.repeat(32)},2026-03-05T14:15:02.000Z,,submitted,,transfer,a,b,BTC,0.00000005,,${'ee'.repeat(32)}`,
    )
    assert.equal(
      lines[3],
      `${'ab'.repeat(32)},2026-03-05T14:15:02.000Z,2,committed,,member,,,,,Member added: till,desk`,
    )
    assert.equal(lines[4], '')
    assert.equal(lines.length, 5)
  })
})
