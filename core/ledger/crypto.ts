/**
 * SHA-256 and ed25519 through node:crypto. Node's native ed25519 verifies about 10 times faster
 * than @noble/ed25519 here, and verification is the ledger's hottest path.
 */
import { Buffer } from 'node:buffer'
import type { KeyObject } from 'node:crypto'
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  hash,
  randomBytes,
  sign,
  verify,
} from 'node:crypto'
import { fromHex, toHex } from './hex.ts'
import { NODE_ID_PATTERN, SIGNATURE_BYTES } from './limits.ts'
import type { Hash, NodeId } from './types.ts'

const PKCS8_ED25519_PREFIX = fromHex('302e020100300506032b657004220420')
const SPKI_ED25519_PREFIX = fromHex('302a300506032b6570032100')
/** Enough for every member of many ledgers; bounded so that junk ids cannot grow it forever. */
const PUBLIC_KEY_CACHE = 4096

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

export function sha256Hex(...parts: Uint8Array[]): Hash {
  // The one-shot hash is twice as fast as createHash for the small inputs ids are made of.
  if (parts.length === 1) return hash('sha256', parts[0]!, 'hex')
  return sha256HexOf(parts)
}

export interface Keypair {
  readonly id: NodeId
  sign(message: Uint8Array): Uint8Array
}

export function keypairFromSeed(seed: Uint8Array): Keypair {
  if (seed.length !== 32) {
    throw new Error(`an ed25519 seed is 32 bytes; got ${seed.length}`)
  }
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed])
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const id = toHex(spki.subarray(SPKI_ED25519_PREFIX.length))
  return {
    id,
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  }
}

export function generateKeypair(): { keypair: Keypair; seed: Uint8Array } {
  const seed = new Uint8Array(randomBytes(32))
  return { keypair: keypairFromSeed(seed), seed }
}

const publicKeys = new Map<NodeId, KeyObject>()

function publicKeyFor(id: NodeId): KeyObject | null {
  const cached = publicKeys.get(id)
  if (cached) return cached
  if (!NODE_ID_PATTERN.test(id)) return null
  let key: KeyObject
  try {
    const der = Buffer.concat([SPKI_ED25519_PREFIX, fromHex(id)])
    key = createPublicKey({ key: der, format: 'der', type: 'spki' })
  } catch {
    return null
  }
  if (publicKeys.size >= PUBLIC_KEY_CACHE) {
    const oldest = publicKeys.keys().next().value
    if (oldest !== undefined) publicKeys.delete(oldest)
  }
  publicKeys.set(id, key)
  return key
}

/** Never throws: input comes off the network, and a malformed one is simply not valid. */
export function verifySignature(id: NodeId, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false
  const key = publicKeyFor(id)
  if (!key) return false
  try {
    return verify(null, message, key, signature)
  } catch {
    return false
  }
}

export interface VerifyItem {
  readonly id: NodeId
  readonly message: Uint8Array
  readonly signature: Uint8Array
}

/**
 * A memo of `verifySignature`. Every node sees each entry in a gossip batch, then in a proposal,
 * then in the committed block; remembering the answer saves two of three verifications. The
 * answer is a pure function of its inputs, so one Verifier may serve many nodes.
 */
export class Verifier {
  readonly #capacity: number
  readonly #memo = new Map<string, boolean>()
  #hits = 0
  #misses = 0

  constructor(capacity = 100_000) {
    this.#capacity = capacity
  }

  verify(id: NodeId, message: Uint8Array, signature: Uint8Array): boolean {
    return this.#lookup(memoKey(id, message, signature), id, message, signature)
  }

  verifyBatch(items: readonly VerifyItem[]): boolean[] {
    const seen = new Map<string, boolean>()
    return items.map(({ id, message, signature }) => {
      const key = memoKey(id, message, signature)
      const known = seen.get(key)
      if (known !== undefined) {
        this.#hits++
        return known
      }
      const ok = this.#lookup(key, id, message, signature)
      seen.set(key, ok)
      return ok
    })
  }

  /**
   * Records a signature this process made as valid without checking it: the node's own entries
   * come back inside other members' blocks, and verifying them there would cost as much as
   * verifying a peer's.
   */
  vouch(id: NodeId, message: Uint8Array, signature: Uint8Array): void {
    this.#remember(memoKey(id, message, signature), true)
  }

  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses }
  }

  #lookup(key: string, id: NodeId, message: Uint8Array, signature: Uint8Array): boolean {
    const known = this.#memo.get(key)
    if (known !== undefined) {
      this.#hits++
      return known
    }
    this.#misses++
    const ok = verifySignature(id, message, signature)
    this.#remember(key, ok)
    return ok
  }

  #remember(key: string, ok: boolean): void {
    this.#memo.set(key, ok)
    if (this.#memo.size > this.#capacity) {
      const oldest = this.#memo.keys().next().value
      if (oldest !== undefined) this.#memo.delete(oldest)
    }
  }
}

/**
 * The message is in the key (as its digest, to keep the memo small): a valid signature attached
 * to another message must not hit.
 */
function memoKey(id: NodeId, message: Uint8Array, signature: Uint8Array): string {
  const digest = hash('sha256', message, 'base64')
  return `${id}:${toHex(signature)}:${digest}`
}

/** SHA-256 over many parts without gathering them first (the state hash has one per balance). */
export function sha256HexOf(parts: Iterable<Uint8Array>): Hash {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest('hex')
}
