/** The readable forms of a node id: known vectors, round trips, and what parsing refuses. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { groupedNodeId, parseNodeIdInput, shortNodeId } from '../../../core/ledger/node-id.ts'
import { keypair } from './helpers.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** The key's first bytes are RFC 4648's "foobar" vector, whose base32 is MZXW6YTBOI. */
const FOOBAR = `666f6f626172${'00'.repeat(26)}`
/** SHA-256 of "tally"; its base32 and check characters were worked out with Python's base64. */
const TALLY = 'b01e26d3f5a5130b9d8d821c5a9d61e7c7d86df735f28bdcd6620fc58ac1006e'
const TALLY_GROUPED = 'WAPCNU7-VUUJQXD-HMNQIOF-VHLB47J-D5Q3PXG-XZIXXG4-WMIH4LC-WBABXAX'

const nodeIds = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('hex'))

/**
 * Checks a run with its check character the way Luhn mod N validates, written apart from the
 * generator: weights 1 and 2 alternate from the right, and the total is a multiple of 32.
 */
function luhnValid(runWithCheck: string): boolean {
  let sum = 0
  for (let i = 0; i < runWithCheck.length; i++) {
    const weight = (runWithCheck.length - 1 - i) % 2 === 0 ? 1 : 2
    const addend = weight * ALPHABET.indexOf(runWithCheck[i]!)
    sum += Math.floor(addend / 32) + (addend % 32)
  }
  return sum % 32 === 0
}

describe('shortNodeId', () => {
  it('is the first 60 bits of the key in base32, in 3 groups of 4', () => {
    assert.equal(shortNodeId(FOOBAR), 'MZXW-6YTB-OIAA')
    assert.equal(shortNodeId(TALLY), 'WAPC-NU7V-UUJQ')
    assert.equal(shortNodeId('00'.repeat(32)), 'AAAA-AAAA-AAAA')
    assert.equal(shortNodeId('ff'.repeat(32)), '7777-7777-7777')
  })

  it('is the start of the grouped form', () => {
    fc.assert(
      fc.property(nodeIds, (id) => {
        const short = shortNodeId(id).replaceAll('-', '')
        assert.match(short, /^[A-Z2-7]{12}$/)
        assert.ok(groupedNodeId(id).replaceAll('-', '').startsWith(short))
      }),
    )
  })

  it('refuses what is not a node id', () => {
    assert.throws(() => shortNodeId('abc'), RangeError)
    assert.throws(() => shortNodeId('AB'.repeat(32)), RangeError)
    assert.throws(() => groupedNodeId(`${'00'.repeat(31)}zz`), RangeError)
  })
})

describe('groupedNodeId', () => {
  it('matches known vectors', () => {
    assert.equal(groupedNodeId(TALLY), TALLY_GROUPED)
    assert.equal(
      groupedNodeId(FOOBAR),
      'MZXW6YT-BOIAAAJ-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA',
    )
    assert.equal(
      groupedNodeId('ff'.repeat(32)),
      '7777777-777777N-7777777-777777N-7777777-777777N-7777777-77777QL',
    )
  })

  it('is 8 groups of 7, four runs of 13 each closed by a valid check character', () => {
    fc.assert(
      fc.property(nodeIds, (id) => {
        const grouped = groupedNodeId(id)
        assert.match(grouped, /^[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$/)
        const chars = grouped.replaceAll('-', '')
        for (let at = 0; at < 56; at += 14) assert.ok(luhnValid(chars.slice(at, at + 14)))
      }),
    )
  })
})

describe('parseNodeIdInput', () => {
  const id = keypair(1).id

  it('round-trips the grouped form and the hex form', () => {
    fc.assert(
      fc.property(nodeIds, (nodeId) => {
        assert.equal(parseNodeIdInput(groupedNodeId(nodeId)), nodeId)
        assert.equal(parseNodeIdInput(nodeId), nodeId)
        assert.equal(parseNodeIdInput(nodeId.toUpperCase()), nodeId)
      }),
    )
    assert.equal(parseNodeIdInput(TALLY_GROUPED), TALLY)
  })

  it('takes either case, dashes or spaces or none, and space around', () => {
    const grouped = groupedNodeId(id)
    const bare = grouped.replaceAll('-', '')
    for (const input of [
      grouped.toLowerCase(),
      bare,
      bare.toLowerCase(),
      grouped.replaceAll('-', ' '),
      `  ${grouped}\n`,
      bare.replace(/(.{4})/g, '$1 - '),
      `\t${id.toUpperCase()} `,
    ]) {
      assert.equal(parseNodeIdInput(input), id, input)
    }
  })

  it('reads 0, 1 and 8, which the alphabet lacks, as O, I and B', () => {
    // TALLY's grouped form has an O in its third group and a B in its last.
    const typed = TALLY_GROUPED.replace('HMNQIOF', 'HMNQ10F').replace('WBABXAX', 'W8A8XAX')
    assert.equal(typed, 'WAPCNU7-VUUJQXD-HMNQ10F-VHLB47J-D5Q3PXG-XZIXXG4-WMIH4LC-W8A8XAX')
    assert.equal(parseNodeIdInput(typed), TALLY)
  })

  it('refuses any one mistyped character', () => {
    const chars = groupedNodeId(id).replaceAll('-', '')
    for (let i = 0; i < chars.length; i++) {
      for (const c of ALPHABET) {
        if (c === chars[i]) continue
        const typo = chars.slice(0, i) + c + chars.slice(i + 1)
        assert.equal(parseNodeIdInput(typo), null, typo)
      }
    }
  })

  it('refuses swapped neighbours', () => {
    const chars = TALLY_GROUPED.replaceAll('-', '')
    for (let i = 0; i + 1 < chars.length; i++) {
      if (chars[i] === chars[i + 1]) continue
      const swapped = chars.slice(0, i) + chars[i + 1] + chars[i] + chars.slice(i + 2)
      assert.equal(parseNodeIdInput(swapped), null, swapped)
    }
  })

  it('refuses a last character whose spare bits are set, though its check character matches', () => {
    // The last run's final character holds 1 bit of the key; B (1) instead of A (0) sets a spare
    // bit. Its check character is then recomputed, so only the spare-bit rule can refuse it.
    const zero = groupedNodeId('00'.repeat(32)).replaceAll('-', '')
    const lastRun = `${'A'.repeat(12)}B`
    let check = ''
    for (const c of ALPHABET) if (luhnValid(lastRun + c)) check = c
    const spare = zero.slice(0, 42) + lastRun + check
    assert.equal(spare.length, 56)
    assert.equal(parseNodeIdInput(spare), null)
  })

  it('refuses garbage', () => {
    const grouped = groupedNodeId(id)
    for (const input of [
      '',
      '   ',
      '-',
      shortNodeId(id),
      id.slice(0, 63),
      `${id}0`,
      `${id.slice(0, 63)}g`,
      `0x${id}`,
      grouped.slice(0, -1),
      `${grouped}A`,
      grouped.replace(/-/, '_'),
      grouped.replace(/^./, '9'),
      grouped.replaceAll('-', '').slice(0, 52),
      `${id} ${id}`,
      ' '.repeat(10_000) + id,
      'A'.repeat(1_000_000),
    ]) {
      assert.equal(parseNodeIdInput(input), null, input.slice(0, 80))
    }
  })

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const parsed = parseNodeIdInput(s)
        if (parsed !== null) assert.match(parsed, /^[0-9a-f]{64}$/)
      }),
    )
  })
})
