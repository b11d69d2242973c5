import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { EntryView, TransferView } from '../../../core/api/types.ts'
import {
  decimalsOf,
  FreshCounter,
  filterQuery,
  knownAssets,
  type LedgerFilter,
  laterStatus,
  machineName,
  matchesFilter,
  memberChangeText,
  NO_FILTER,
  placeEntry,
  rangeText,
} from '../../../renderer/src/state/ledger-query.ts'

function transfer(over: Partial<TransferView> = {}): TransferView {
  return {
    kind: 'transfer',
    id: 'ab'.repeat(32),
    status: 'submitted',
    author: 'cd'.repeat(32),
    nonce: 1,
    time: 1_000,
    received: 1_000,
    local: true,
    from: 'alice',
    to: 'bob',
    asset: 'USD',
    amount: '1250',
    memo: 'Coffee Beans',
    ...over,
  }
}

const member: EntryView = {
  kind: 'member',
  id: 'ef'.repeat(32),
  status: 'committed',
  author: 'cd'.repeat(32),
  nonce: 2,
  time: 1,
  received: 1,
  local: false,
  action: 'add',
  member: '12'.repeat(32),
  name: 'front-desk',
}

const f = (over: Partial<LedgerFilter>): LedgerFilter => ({ ...NO_FILTER, ...over })

describe('ledger filter, as the node applies it', () => {
  it('sends only the fields that are set, trimmed, the asset in capitals', () => {
    assert.deepEqual(filterQuery(NO_FILTER), {})
    assert.deepEqual(
      filterQuery(f({ account: ' alice ', asset: ' usd ', status: 'rejected', q: 'x' })),
      {
        account: 'alice',
        asset: 'USD',
        status: 'rejected',
        q: 'x',
      },
    )
  })

  it('matches account on from or to, asset and status exactly, q as a case-insensitive substring', () => {
    const e = transfer()
    assert.equal(matchesFilter(e, NO_FILTER), true)
    assert.equal(matchesFilter(e, f({ account: 'bob' })), true)
    assert.equal(matchesFilter(e, f({ account: 'bo' })), false)
    assert.equal(matchesFilter(e, f({ asset: 'USD' })), true)
    assert.equal(matchesFilter(e, f({ asset: 'US' })), false)
    assert.equal(matchesFilter(e, f({ asset: 'usd' })), true)
    assert.equal(matchesFilter(e, f({ status: 'committed' })), false)
    assert.equal(matchesFilter(e, f({ q: 'coffee' })), true)
    assert.equal(matchesFilter(e, f({ q: 'usd' })), true)
    assert.equal(matchesFilter(e, f({ q: 'ABAB' })), true)
    assert.equal(matchesFilter(e, f({ q: 'tea' })), false)
  })

  it('never matches a member change to an account or asset filter', () => {
    assert.equal(matchesFilter(member, NO_FILTER), true)
    assert.equal(matchesFilter(member, f({ account: 'alice' })), false)
    assert.equal(matchesFilter(member, f({ asset: 'USD' })), false)
  })
})

describe('placing a live entry without moving the rows on show', () => {
  const view = (over: Partial<Parameters<typeof placeEntry>[1]> = {}) => ({
    shown: () => false,
    firstPage: true,
    filter: NO_FILTER,
    newestReceived: 500,
    ...over,
  })

  it('updates a row on show in place', () => {
    assert.equal(
      placeEntry(transfer({ status: 'committed' }), view({ shown: () => true })),
      'update',
    )
  })

  it('inserts a new entry at the top of the first page', () => {
    assert.equal(placeEntry(transfer(), view()), 'insert')
  })

  it('announces a new entry behind a button on any other page', () => {
    assert.equal(placeEntry(transfer(), view({ firstPage: false })), 'announce')
  })

  it('announces rather than inserts once the first page holds twice its rows, so no row on show is dropped', () => {
    assert.equal(placeEntry(transfer(), view({ full: true })), 'announce')
    assert.equal(
      placeEntry(transfer({ status: 'committed' }), view({ full: true, shown: () => true })),
      'update',
    )
  })

  it('leaves out a new entry the filter does not match', () => {
    assert.equal(placeEntry(transfer(), view({ filter: f({ account: 'carol' }) })), 'ignore')
    assert.equal(
      placeEntry(transfer(), view({ firstPage: false, filter: f({ asset: 'EUR' }) })),
      'ignore',
    )
  })

  it('treats an unknown but older entry (its status moved, on another page) as not new', () => {
    assert.equal(placeEntry(transfer({ status: 'committed', received: 499 }), view()), 'ignore')
  })

  it('never lets a late event undo a final status', () => {
    const committed = transfer({ status: 'committed', height: 4 })
    assert.equal(laterStatus(committed, transfer({ status: 'relayed' })), committed)
    const relayed = transfer({ status: 'relayed' })
    assert.equal(laterStatus(transfer(), relayed), relayed)
    const rejected = transfer({ status: 'rejected', reason: 'no funds' })
    assert.equal(laterStatus(relayed, rejected), rejected)
  })
})

describe('ledger words and numbers', () => {
  const status = { assets: [{ code: 'BTC', decimals: 8 }], defaultDecimals: 2 }

  it('takes an asset’s decimals from the genesis list, else the default, else 2', () => {
    assert.equal(decimalsOf('BTC', status), 8)
    assert.equal(decimalsOf('USD', status), 2)
    assert.equal(decimalsOf('USD', { assets: [], defaultDecimals: 0 }), 0)
    assert.equal(decimalsOf('USD', null), 2)
  })

  it('names a machine by its member name, else a short form of its id', () => {
    const members = [{ id: 'cd'.repeat(32), shortId: 'ABCD-EFGH-IJKL', name: 'front-desk' }]
    assert.equal(machineName('cd'.repeat(32), members), 'front-desk')
    assert.equal(machineName('0123456789abcdef'.repeat(4), members), '01234567…')
  })

  it('words member changes', () => {
    assert.equal(
      memberChangeText(member as Extract<EntryView, { kind: 'member' }>, []),
      'Member added: front-desk',
    )
    const removed = { ...member, action: 'remove', name: '' } as Extract<
      EntryView,
      { kind: 'member' }
    >
    assert.equal(
      memberChangeText(removed, [
        { id: '12'.repeat(32), shortId: 'MNOP-QRST-UVWX', name: 'old-pc' },
      ]),
      'Member removed: old-pc',
    )
  })

  it('says which rows a page holds', () => {
    assert.equal(rangeText(0, 50), 'entries 1–50')
    assert.equal(rangeText(99_950, 50), 'entries 99,951–100,000')
    assert.equal(rangeText(0, 0), 'no entries')
  })

  it('suggests the genesis assets and those with balances, once each, sorted', () => {
    assert.deepEqual(knownAssets(status, [{ asset: 'USD' }, { asset: 'BTC' }]), ['BTC', 'USD'])
  })
})

describe('the count of new entries behind the button', () => {
  it('counts an entry once however many status events it has', () => {
    const c = new FreshCounter()
    assert.equal(c.add('a'), true)
    assert.equal(c.add('a'), false)
    c.add('b')
    assert.equal(c.count, 2)
    c.clear()
    assert.equal(c.count, 0)
    assert.equal(c.add('a'), true)
  })

  it('keeps only the latest ids, so a page left open for days holds a bounded set, and still counts every entry', () => {
    const c = new FreshCounter(3)
    for (const id of ['a', 'b', 'c', 'd', 'e']) c.add(id)
    assert.equal(c.count, 5)
    // 'e' is still remembered: a later status event of it is not counted again.
    assert.equal(c.add('e'), false)
    // 'a' was let go: the memory did not grow past 3 ids.
    assert.equal(c.add('a'), true)
    assert.equal(c.count, 6)
  })
})
