/**
 * The access token arrives in the address's fragment (`#token=…`), which browsers never send to
 * a server. It is read once, kept for this tab only, and taken out of the address bar so that it
 * does not end up in a screenshot, a shared link or the history.
 */
const KEY = 'tally.token'
const TOKEN = /^[A-Za-z0-9._~-]{16,256}$/

export function takeToken(loc: Location, hist: History, storage: Storage): string | null {
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

export function forgetToken(storage: Storage): void {
  storage.removeItem(KEY)
}
