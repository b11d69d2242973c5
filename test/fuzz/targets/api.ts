/**
 * What a client sends the API: entry and batch bodies (as the text the server reads), query
 * strings and block heights in paths. A request the API cannot read exactly is a RequestError;
 * a body it accepts and the ledger's rules pass must then make an entry that encodes canonically.
 */
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import {
  batchFrom,
  entryQueryFrom,
  heightFrom,
  MAX_BATCH,
  parseJson,
  RequestError,
  transferFrom,
} from '../../../core/api/requests.ts'
import { decodeEntry, encodeEntry } from '../../../core/ledger/encoding.ts'
import { LIMITS } from '../../../core/ledger/limits.ts'
import { entryBodyError } from '../../../core/ledger/rules.ts'
import { type EntryBody, ZERO_HASH } from '../../../core/ledger/types.ts'
import { MAX_PAGE } from '../../../core/store/index.ts'
import { allocationBounded, within } from '../bounds.ts'
import { ACCEPTED, Broken, type FuzzTarget, rejected, target, type Verdict } from '../engine.ts'
import { mutated } from '../mutations.ts'

/** Runs `read`; a RequestError is a rejection, and a body can only be a 400. */
function request<T>(read: () => T): { value: T } | Verdict {
  try {
    return { value: read() }
  } catch (error) {
    if (!(error instanceof RequestError)) throw error
    if (error.status !== 400) throw new Broken(`a request refused with ${error.status}`)
    return rejected(error.message)
  }
}

/** What the node does next with an accepted body: the ledger's rule, then an entry encoded. */
function toEntry(body: EntryBody): Verdict {
  const error = entryBodyError(body)
  if (error !== null) return rejected(`ledger rule: ${error}`)
  const entry = { ledger: ZERO_HASH, author: ZERO_HASH, nonce: 1, time: 1, body }
  const bytes = encodeEntry(entry)
  if (!isDeepStrictEqual(decodeEntry(bytes), entry)) {
    throw new Broken('an accepted body does not survive its own encoding')
  }
  return ACCEPTED
}

const EDGE_AMOUNTS: readonly unknown[] = [
  0,
  -1,
  -0,
  1,
  1.5,
  1e21,
  1e-7,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  '',
  '0',
  '01',
  '1',
  ' 1',
  '1 ',
  '+1',
  '1e3',
  '0x10',
  '١٢',
  String(LIMITS.maxAmount),
  String(LIMITS.maxAmount + 1n),
  '9'.repeat(19),
  '9'.repeat(20),
  String(2n ** 64n),
]

const validAccount = fc.stringMatching(/^@?[a-z0-9._-]{1,64}$/)
const validAsset = fc.stringMatching(/^[A-Z0-9]{1,12}$/)
const account = fc.oneof(
  { arbitrary: validAccount, weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 70 }), weight: 1 },
)
const asset = fc.oneof(
  { arbitrary: validAsset, weight: 4 },
  { arbitrary: fc.string({ maxLength: 14 }), weight: 1 },
)
const amount = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), weight: 2 },
  { arbitrary: fc.bigInt({ min: 1n, max: 2n ** 64n }).map(String), weight: 2 },
  { arbitrary: fc.constantFrom(...EDGE_AMOUNTS), weight: 1 },
)
const memo = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 300 }), weight: 4 },
  // Lone surrogates, which JSON can carry and UTF-8 cannot.
  { arbitrary: fc.constantFrom('\ud800', 'a\udfff', '\ud83d\ude00'.slice(0, 1)), weight: 1 },
)
const anyJson = fc.jsonValue({ maxDepth: 2 })

/** Mostly a field of the right kind, sometimes any JSON at all. */
function field<T>(right: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: right, weight: 9 }, { arbitrary: anyJson, weight: 1 })
}

/** A transfer as a client means it, the memo left out at times. */
const goodTransfer = fc.record(
  {
    from: validAccount,
    to: validAccount,
    asset: validAsset,
    amount: fc.oneof(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.bigInt({ min: 1n, max: LIMITS.maxAmount }).map(String),
    ),
    memo: fc.string({ unit: 'binary', maxLength: LIMITS.memoChars }),
  },
  { requiredKeys: ['from', 'to', 'asset', 'amount'] },
)

/** Transfer-like objects: right fields, wrong types, edge values, extras and omissions. */
const transferLike = fc.oneof(
  { arbitrary: goodTransfer, weight: 3 },
  {
    arbitrary: fc.record(
      {
        from: field(account),
        to: field(account),
        asset: field(asset),
        amount: field(amount),
        memo: field(memo),
      },
      { requiredKeys: ['from', 'to', 'asset', 'amount'] },
    ),
    weight: 2,
  },
  {
    arbitrary: fc.dictionary(
      fc.constantFrom('from', 'to', 'asset', 'amount', 'memo', 'extra', 'From'),
      anyJson,
    ),
    weight: 1,
  },
)

function json(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
}

/** Body text as the server reads it: UTF-8 bytes decoded leniently, as Buffer#toString does. */
function bodyText(values: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const texts = values.map(json)
  const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'))
  return fc.oneof(
    { arbitrary: texts, weight: 4 },
    {
      arbitrary: mutated(texts.map(utf8)).map((b) => Buffer.from(b).toString('utf8')),
      weight: 2,
    },
    { arbitrary: fc.json({ maxDepth: 3 }), weight: 1 },
    // JSON.parse makes "__proto__" an own key; an object literal could not even express it.
    { arbitrary: texts.map((t) => t.replace(/^\{/, '{"__proto__":{"amount":1},')), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 1 },
    {
      arbitrary: fc.constantFrom(
        '',
        'null',
        '[]',
        '{}',
        '{"__proto__":{"from":"a"}}',
        '{"constructor":{}}',
        '{"from":"a","from":"b"}',
      ),
      weight: 1,
    },
  )
}

const batchLike = fc.oneof(
  {
    // Mostly good items, so that a batch gets past its first and a bad one is found anywhere.
    arbitrary: fc
      .array(fc.oneof({ arbitrary: goodTransfer, weight: 30 }, transferLike), { maxLength: 6 })
      .map((entries) => ({ entries })),
    weight: 6,
  },
  { arbitrary: fc.record({ entries: anyJson }), weight: 1 },
  {
    arbitrary: fc.constant({ entries: Array.from({ length: MAX_BATCH + 1 }, () => ({})) }),
    weight: 1,
  },
)

const QUERY_KEYS = ['account', 'status', 'q', 'before', 'limit', 'other', 'LIMIT']
const queryValue = fc.oneof(
  fc.constantFrom('0', '1', '50', String(MAX_PAGE), String(MAX_PAGE + 1), '-1', '1.0', '1e2'),
  fc.constantFrom('submitted', 'relayed', 'committed', 'rejected', 'Committed', ''),
  fc.constantFrom(String(Number.MAX_SAFE_INTEGER), String(2 ** 53), '00', ' 1'),
  fc.string({ unit: 'binary', maxLength: 20 }),
)
const queries = fc.oneof(
  fc
    .array(fc.tuple(fc.constantFrom(...QUERY_KEYS), queryValue), { maxLength: 5 })
    .map((pairs) => new URLSearchParams(pairs).toString()),
  fc.string({ unit: 'binary', maxLength: 80 }),
)

function runQuery(text: string): Verdict {
  const read = request(() => entryQueryFrom(new URLSearchParams(text)))
  if (!('value' in read)) return read
  const q = read.value
  within(Number.isSafeInteger(q.limit) && q.limit >= 1 && q.limit <= MAX_PAGE, 'page limit')
  within(q.before === undefined || (Number.isSafeInteger(q.before) && q.before >= 1), 'before')
  return ACCEPTED
}

const heights = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '01',
    '-1',
    '1.5',
    '1e3',
    ' 1',
    String(Number.MAX_SAFE_INTEGER),
    String(2 ** 53),
    '',
  ),
  fc.string({ unit: 'binary', maxLength: 25 }),
  fc.maxSafeNat().map(String),
)

export const apiTargets: readonly FuzzTarget[] = [
  target({
    name: 'api entry body',
    weight: 6,
    inputs: bodyText(transferLike),
    run: (text) => {
      const read = request(() =>
        allocationBounded(text.length * 3, () => transferFrom(parseJson(text))),
      )
      return 'value' in read ? toEntry(read.value) : read
    },
  }),
  target({
    name: 'api batch body',
    weight: 4,
    inputs: bodyText(batchLike),
    run: (text) => {
      const read = request(() => batchFrom(parseJson(text), entryBodyError))
      if (!('value' in read)) return read
      within(read.value.length >= 1 && read.value.length <= MAX_BATCH, 'batch size')
      for (const body of read.value) {
        const verdict = toEntry(body)
        if (!verdict.accepted)
          throw new Broken(`batchFrom passed a body its check refuses: ${verdict.reason}`)
      }
      return ACCEPTED
    },
  }),
  target({ name: 'api entry query', weight: 3, inputs: queries, run: runQuery }),
  target({
    name: 'api block height',
    weight: 1,
    inputs: heights,
    run: (text) => {
      const read = request(() => heightFrom(text))
      if (!('value' in read)) return read
      within(
        Number.isSafeInteger(read.value) &&
          read.value >= 1 &&
          String(read.value) === text.replace(/^0+/, ''),
        'height',
      )
      return ACCEPTED
    },
  }),
]
