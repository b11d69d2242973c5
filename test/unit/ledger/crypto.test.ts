import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  fromHex,
  generateKeypair,
  keypairFromSeed,
  sha256,
  sha256Hex,
  toHex,
  Verifier,
  verifySignature,
} from '../../../core/ledger/index.ts'

const text = (s: string) => new TextEncoder().encode(s)

test('sha256 matches the FIPS 180-2 vector for "abc", over parts as over their concatenation', () => {
  const expected = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
  assert.equal(sha256Hex(text('abc')), expected)
  assert.equal(sha256Hex(text('a'), text('bc')), expected)
  assert.equal(toHex(sha256(text('abc'))), expected)
})

test('keypairFromSeed follows RFC 8032 (test 1): public key and signature of the empty message', () => {
  const kp = keypairFromSeed(
    fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'),
  )
  assert.equal(kp.id, 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
  assert.equal(
    toHex(kp.sign(new Uint8Array())),
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  )
})

test('keypairFromSeed is deterministic', () => {
  const seed = new Uint8Array(32).fill(7)
  const a = keypairFromSeed(seed)
  const b = keypairFromSeed(seed)
  assert.equal(a.id, b.id)
  assert.deepEqual(a.sign(text('m')), b.sign(text('m')))
})

test('keypairFromSeed refuses a seed that is not 32 bytes, saying so', () => {
  assert.throws(() => keypairFromSeed(new Uint8Array(31)), /32 bytes; got 31/)
  assert.throws(() => keypairFromSeed(new Uint8Array(64)), /32 bytes; got 64/)
})

test('generateKeypair returns the seed that recreates it', () => {
  const { keypair, seed } = generateKeypair()
  assert.equal(seed.length, 32)
  assert.equal(keypairFromSeed(seed).id, keypair.id)
})

test('verifySignature accepts a valid signature and rejects another message', () => {
  const kp = keypairFromSeed(new Uint8Array(32).fill(3))
  const sig = kp.sign(text('hello'))
  assert.equal(verifySignature(kp.id, text('hello'), sig), true)
  assert.equal(verifySignature(kp.id, text('hellp'), sig), false)
})

test('verifySignature returns false, never throws, on malformed ids and signatures', () => {
  const kp = keypairFromSeed(new Uint8Array(32).fill(3))
  const sig = kp.sign(text('hello'))
  assert.equal(verifySignature('not hex', text('hello'), sig), false)
  assert.equal(verifySignature(kp.id.slice(2), text('hello'), sig), false)
  assert.equal(verifySignature(kp.id.toUpperCase(), text('hello'), sig), false)
  assert.equal(verifySignature(kp.id, text('hello'), sig.subarray(1)), false)
  assert.equal(verifySignature(kp.id, text('hello'), new Uint8Array(64)), false)
  // Not a point on the curve.
  assert.equal(verifySignature('ff'.repeat(32), text('hello'), sig), false)
})

test('Verifier memo is keyed by the message too: a valid signature on another message does not hit', () => {
  const kp = keypairFromSeed(new Uint8Array(32).fill(4))
  const sig = kp.sign(text('pay 1'))
  const v = new Verifier()
  assert.equal(v.verify(kp.id, text('pay 1'), sig), true)
  assert.equal(v.verify(kp.id, text('pay 9'), sig), false)
  assert.deepEqual(v.stats, { hits: 0, misses: 2 })
  assert.equal(v.verify(kp.id, text('pay 1'), sig), true)
  assert.deepEqual(v.stats, { hits: 1, misses: 2 })
})

test('Verifier.verifyBatch verifies identical items once and answers each in order', () => {
  const kp = keypairFromSeed(new Uint8Array(32).fill(5))
  const good = { id: kp.id, message: text('a'), signature: kp.sign(text('a')) }
  const bad = { id: kp.id, message: text('b'), signature: good.signature }
  const v = new Verifier()
  assert.deepEqual(v.verifyBatch([good, bad, { ...good, message: text('a') }]), [true, false, true])
  assert.equal(v.stats.misses, 2)
})

test('Verifier evicts the oldest answer beyond its capacity', () => {
  const kp = keypairFromSeed(new Uint8Array(32).fill(6))
  const v = new Verifier(2)
  const messages = ['1', '2', '3'].map(text)
  for (const m of messages) v.verify(kp.id, m, kp.sign(m))
  const first = messages[0]!
  v.verify(kp.id, first, kp.sign(first))
  assert.deepEqual(v.stats, { hits: 0, misses: 4 })
  const third = messages[2]!
  v.verify(kp.id, third, kp.sign(third))
  assert.equal(v.stats.hits, 1)
})

test('Verifier.vouch makes a signature this process made a hit, for that message only', () => {
  const kp = keypairFromSeed(new Uint8Array(32).fill(8))
  const sig = kp.sign(text('pay 2'))
  const v = new Verifier()
  v.vouch(kp.id, text('pay 2'), sig)
  assert.equal(v.verify(kp.id, text('pay 2'), sig), true)
  assert.deepEqual(v.stats, { hits: 1, misses: 0 })
  assert.equal(v.verify(kp.id, text('pay 3'), sig), false)
  assert.deepEqual(v.stats, { hits: 1, misses: 1 })
})
