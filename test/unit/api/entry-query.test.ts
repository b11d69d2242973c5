import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { entryQueryFrom, RequestError } from '../../../core/api/requests.ts'

const read = (query: string) => entryQueryFrom(new URLSearchParams(query))

describe('GET /api/entries query', () => {
  it('passes asset through as given, next to the other filters', () => {
    assert.deepEqual(read('asset=EUR&account=alice&status=committed&q=rent&before=9&limit=20'), {
      limit: 20,
      account: 'alice',
      asset: 'EUR',
      status: 'committed',
      q: 'rent',
      before: 9,
    })
    assert.deepEqual(read(''), { limit: 50 })
  })

  it('still refuses a parameter it does not know', () => {
    assert.throws(() => read('assets=EUR'), RequestError)
  })
})
