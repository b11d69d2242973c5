/**
 * Node ids as people read them. A node id is 64 hex characters, too long to compare by eye
 * between two machines before approving a join, and hex spends 4 bits a character. These forms
 * use base32 (RFC 4648's alphabet A–Z 2–7, no padding: no 0/O or 1/I pairs to confuse, one case).
 *
 * - Short, `MFRG-GZDF-MZTW`: the first 60 bits of the key. It is the prefix of the key itself,
 *   not of a hash of it, because the two are as good as each other here and the prefix is
 *   simpler to trust: an ed25519 public key's first bytes are the low bytes of a curve point's
 *   y coordinate, already uniform, so a hash would spread them no better; and forging a key
 *   whose short form matches another's costs about 2^60 key generations either way. Being a
 *   prefix, it is also the start of the full form (as Syncthing's short id is of its full one),
 *   so a person holding one can check the other by eye. 60 bits: a chance collision among 256
 *   machines is about one in 2^45.
 * - Full, `MFRGGZD-FMZTWAM-…`: Syncthing's layout. The 52 characters of the key are cut into four
 *   runs of 13, each followed by a Luhn mod 32 check character, and shown as 8 groups of 7. The
 *   check characters are what make the full form safe to type: any one mistyped character, and
 *   most swaps of two neighbours, are refused instead of naming another node.
 *
 * No Node APIs here (not even Buffer), so the interface can use this file as it is.
 */
import { NODE_ID_PATTERN } from './limits.ts'
import type { NodeId } from './types.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const KEY_BYTES = 32
/** ceil(256 / 5): the last character carries 1 bit of the key and 4 zero bits. */
const KEY_CHARS = 52
const RUN_CHARS = 13
const GROUP_CHARS = 7
const SHORT_GROUPS = 3
const SHORT_GROUP_CHARS = 4
const GROUPED_CHARS = KEY_CHARS + KEY_CHARS / RUN_CHARS
const HEX_ID = /^[0-9a-f]{64}$/i
/** Room for either form with generous separators and surrounding space; longer is not an id. */
const MAX_INPUT_CHARS = 256
/** Whitespace and dashes, which people and layouts put between groups. */
const SEPARATORS = /[\s-]+/g
/**
 * Digits the alphabet lacks, read as the letters they are mistaken for: a typed 0 can only have
 * meant O. The check characters catch a wrong guess.
 */
const LOOKALIKES: Readonly<Record<string, string>> = { '0': 'O', '1': 'I', '8': 'B' }

/** The form to compare between machines before approving a join: 3 groups of 4. */
export function shortNodeId(id: NodeId): string {
  const chars = base32(keyBytes(id)).slice(0, SHORT_GROUPS * SHORT_GROUP_CHARS)
  return groups(chars, SHORT_GROUP_CHARS)
}

/** The whole id with its check characters, in 8 groups of 7 joined by '-'. */
export function groupedNodeId(id: NodeId): string {
  const chars = base32(keyBytes(id))
  let checked = ''
  for (let at = 0; at < KEY_CHARS; at += RUN_CHARS) {
    const run = chars.slice(at, at + RUN_CHARS)
    checked += run + luhn32(run)
  }
  return groups(checked, GROUP_CHARS)
}

/**
 * A node id typed or pasted by a person: 64 hex characters (either case), or the grouped base32
 * form of `groupedNodeId` (either case, dashes and spaces anywhere or nowhere). Returns the
 * lowercase hex id, or null when the input is neither or a check character does not match.
 */
export function parseNodeIdInput(s: string): NodeId | null {
  // Bounded before any other work: the input may be as long as whatever was pasted.
  if (s.length > MAX_INPUT_CHARS) return null
  const trimmed = s.trim()
  if (HEX_ID.test(trimmed)) return trimmed.toLowerCase()
  const chars = trimmed
    .replace(SEPARATORS, '')
    .toUpperCase()
    .replace(/[018]/g, (c) => LOOKALIKES[c]!)
  if (chars.length !== GROUPED_CHARS) return null
  let key = ''
  for (let at = 0; at < GROUPED_CHARS; at += RUN_CHARS + 1) {
    const run = chars.slice(at, at + RUN_CHARS)
    const check = chars[at + RUN_CHARS]!
    // luhn32 of a run with a character outside the alphabet is null, and never equals `check`.
    if (luhn32(run) !== check) return null
    key += run
  }
  const bytes = fromBase32(key)
  return bytes === null ? null : hexOf(bytes)
}

function keyBytes(id: NodeId): Uint8Array {
  if (!NODE_ID_PATTERN.test(id)) {
    throw new RangeError(`a node id is 64 lowercase hex characters; got ${JSON.stringify(id)}`)
  }
  const bytes = new Uint8Array(KEY_BYTES)
  for (let i = 0; i < KEY_BYTES; i++) bytes[i] = Number.parseInt(id.slice(2 * i, 2 * i + 2), 16)
  return bytes
}

function hexOf(bytes: Uint8Array): string {
  let hex = ''
  for (const b of bytes) hex += b.toString(16).padStart(2, '0')
  return hex
}

function base32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += ALPHABET[(value >>> bits) & 31]
    }
    // Only the unread bits matter; dropping the rest keeps value within 32 bits.
    value &= (1 << bits) - 1
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

/**
 * The key's bytes from its 52 characters, or null. The last character's 4 spare bits must be
 * zero: otherwise 16 spellings would name one key, and only one of them is `groupedNodeId`'s.
 */
function fromBase32(chars: string): Uint8Array | null {
  const bytes = new Uint8Array(KEY_BYTES)
  let n = 0
  let bits = 0
  let value = 0
  for (const c of chars) {
    const digit = ALPHABET.indexOf(c)
    if (digit < 0) return null
    value = (value << 5) | digit
    bits += 5
    if (bits >= 8) {
      bits -= 8
      bytes[n++] = (value >>> bits) & 0xff
      value &= (1 << bits) - 1
    }
  }
  return n === KEY_BYTES && value === 0 ? bytes : null
}

/**
 * The Luhn mod N check character (N = 32) of `run`, or null if a character is not in the
 * alphabet. Weights 2 and 1 alternate from the right, as in the credit-card check: one changed
 * character always changes the sum, and so does a swap of two neighbours unless they are
 * A and 7 (codepoints 0 and 31).
 */
function luhn32(run: string): string | null {
  let sum = 0
  let factor = 2
  for (let i = run.length - 1; i >= 0; i--) {
    const codepoint = ALPHABET.indexOf(run[i]!)
    if (codepoint < 0) return null
    const addend = factor * codepoint
    sum += Math.floor(addend / 32) + (addend % 32)
    factor = 3 - factor
  }
  return ALPHABET[(32 - (sum % 32)) % 32]!
}

function groups(chars: string, size: number): string {
  const out: string[] = []
  for (let at = 0; at < chars.length; at += size) out.push(chars.slice(at, at + size))
  return out.join('-')
}
