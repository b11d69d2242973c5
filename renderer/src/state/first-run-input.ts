/**
 * What a person types on the first-run screen, checked before anything is sent: the node
 * refuses the same things, but an error beside the field is found at once and sends nothing.
 */

/** The node's own limit on a ledger's name (`core/api/setup-routes.ts`). */
export const MAX_LEDGER_NAME = 64
const MAX_ADDR = 256

function hasControl(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true
  }
  return false
}

/** Why `name` cannot name a new ledger, or null. Leading and trailing spaces are dropped. */
export function ledgerNameError(name: string): string | null {
  const n = name.trim()
  if (n === '') return 'Give the ledger a name, e.g. "Office accounts".'
  if (n.length > MAX_LEDGER_NAME) {
    return `At most ${MAX_LEDGER_NAME} characters (this one has ${n.length}).`
  }
  if (hasControl(n)) return 'The name cannot hold tabs, line breaks or other control characters.'
  return null
}

export type AddressResult = { readonly addr: string } | { readonly error: string }

const EXAMPLE = 'Type an address like /ip4/192.168.1.20/tcp/26656 (or 192.168.1.20:26656).'
const IP4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const MULTIADDR =
  /^\/(ip4|ip6|dns4|dns6|dns)\/([^/\s]+)\/tcp\/(\d{1,5})(\/p2p\/[1-9A-HJ-NP-Za-km-z]+)?\/?$/
const HOST_PORT = /^([0-9.]+):(\d{1,5})$/

function portOk(p: string): boolean {
  const n = Number(p)
  return n >= 1 && n <= 65_535
}

/**
 * A member's address as the node takes it (a TCP multiaddr), from what was typed: a multiaddr,
 * or the `192.168.1.20:26656` form people are used to, which is turned into one. Checked only
 * for its shape: whether a member answers there is for the node to find out.
 */
export function memberAddress(input: string): AddressResult {
  const s = input.trim()
  if (s === '') return { error: EXAMPLE }
  if (s.length > MAX_ADDR) return { error: `At most ${MAX_ADDR} characters. ${EXAMPLE}` }
  const hp = HOST_PORT.exec(s)
  if (hp !== null) {
    const [, host = '', port = ''] = hp
    if (!IP4.test(host)) return { error: `${host} is not an IPv4 address. ${EXAMPLE}` }
    if (!portOk(port)) return { error: 'The port is a number from 1 to 65535.' }
    return { addr: `/ip4/${host}/tcp/${port}` }
  }
  const m = MULTIADDR.exec(s)
  if (m === null) return { error: EXAMPLE }
  const [, proto = '', host = '', port = ''] = m
  if (proto === 'ip4' && !IP4.test(host)) {
    return { error: `${host} is not an IPv4 address. ${EXAMPLE}` }
  }
  if (!portOk(port)) return { error: 'The port is a number from 1 to 65535.' }
  return { addr: s.replace(/\/$/, '') }
}
