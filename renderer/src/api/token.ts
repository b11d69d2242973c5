/**
 * The access token arrives in the address's fragment (`#token=…`), which browsers never send to
 * a server. It is read once, kept for this tab only, and taken out of the address bar so that it
 * does not end up in a screenshot, a shared link or the history.
 */
const KEY = 'tally.token'

/** The parts of `location`, `history` and `sessionStorage` this needs, so a test can stand in. */
export interface PageAddress {
  readonly hash: string
  readonly pathname: string
  readonly search: string
}
export interface AddressBar {
  replaceState(data: unknown, unused: string, url: string): void
}
export interface TokenStore {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}
const TOKEN = /^[A-Za-z0-9._~-]{16,256}$/

export function takeToken(loc: PageAddress, hist: AddressBar, storage: TokenStore): string | null {
  const params = new URLSearchParams(loc.hash.replace(/^#/, ''))
  const given = params.get('token')
  if (given !== null) {
    params.delete('token')
    const rest = params.toString()
    hist.replaceState(null, '', `${loc.pathname}${loc.search}#${rest === '' ? '/' : rest}`)
    if (TOKEN.test(given)) {
      storage.setItem(KEY, given)
      return given
    }
    return null
  }
  const kept = storage.getItem(KEY)
  return kept !== null && TOKEN.test(kept) ? kept : null
}

export function forgetToken(storage: TokenStore): void {
  storage.removeItem(KEY)
}
