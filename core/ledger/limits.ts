/**
 * Bounds on everything a peer can send. Decoders check them before allocating, so a hostile
 * message costs its sender more than its receiver.
 */
export const LIMITS = {
  memoChars: 280,
  /** 64 for the name plus an optional leading `@`. */
  accountChars: 65,
  assetChars: 12,
  memberNameChars: 64,
  ledgerNameChars: 100,
  entriesPerBlock: 10_000,
  blockBytes: 16 * 1024 * 1024,
  validators: 256,
  members: 256,
  assets: 256,
  maxAmount: 2n ** 63n - 1n,
} as const

/** Decimals an asset may declare; 10^18 minor units already exceed what a u63 amount can show. */
export const MAX_DECIMALS = 18
export const DEFAULT_DECIMALS = 2

/** A node id: the lowercase hex of a 32-byte ed25519 public key. */
export const NODE_ID_PATTERN = /^[0-9a-f]{64}$/
/** An ed25519 signature's length. */
export const SIGNATURE_BYTES = 64
// Lone surrogates would be silently replaced by U+FFFD, so two strings would share one encoding.
export const LONE_SURROGATE = /\p{Cs}/u
