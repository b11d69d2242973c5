/**
 * The node key is the ledger's ed25519 key, so a libp2p PeerId and a ledger NodeId name the same
 * machine and convert both ways without a lookup table.
 */
import './polyfill.ts'
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { fromHex, toHex } from '../ledger/hex.ts'
import { NODE_ID_PATTERN } from '../ledger/limits.ts'
import type { NodeId } from '../ledger/types.ts'

export function peerIdFromNodeId(id: NodeId): PeerId {
  if (!NODE_ID_PATTERN.test(id)) throw new Error(`not a node id: ${id}`)
  const key = publicKeyFromRaw(fromHex(id))
  if (key.type !== 'Ed25519') throw new Error(`not an ed25519 key: ${id}`)
  return peerIdFromPublicKey(key)
}

export function nodeIdFromPeerId(peer: PeerId): NodeId | null {
  if (peer.type !== 'Ed25519') return null
  return toHex(peer.publicKey.raw)
}

/** Gossipsub hands scores and app scores around as PeerId strings. */
export function nodeIdFromPeerString(peer: string): NodeId | null {
  try {
    return nodeIdFromPeerId(peerIdFromString(peer))
  } catch {
    return null
  }
}

export function privateKeyFromSeed(seed: Uint8Array): Promise<Ed25519PrivateKey> {
  if (seed.length !== 32) throw new Error(`an ed25519 seed is 32 bytes; got ${seed.length}`)
  return generateKeyPairFromSeed('Ed25519', seed)
}
