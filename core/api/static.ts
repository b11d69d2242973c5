/**
 * The built interface (renderer/dist), served from the API port without the token: the page
 * holds no ledger data, and the token reaches it in the URL fragment (`#token=…`), which browsers
 * never send to a server. Everything under /api/ still needs the token.
 *
 * Files are read per request: the app is a handful of small files, and a rebuild shows at the
 * next reload without a restart.
 */
import { readFile, realpath, stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, join, sep } from 'node:path'

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

export const NOT_BUILT =
  'the interface is not built: run `npm run build` in the Tally folder, then reload this page\n'

/**
 * The page may load only its own scripts, styles, images and fonts, and talk only to `connect`.
 * Styles allow 'unsafe-inline' because Svelte injects component styles into <style> tags;
 * scripts do not, and nothing may be evaluated, framed or embedded.
 */
function policy(connect: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/**
 * The web mode's policy: the page talks to this port only. `'self'` covers ws: to the same host
 * and port in current browsers; the explicit entries are for those that read CSP Level 2, where
 * it does not.
 */
export function contentSecurityPolicy(port: number): string {
  return policy(`'self' ws://127.0.0.1:${port} ws://localhost:${port}`)
}

/**
 * The desktop app's policy: the page reaches its core over a MessagePort only, so it may connect
 * nowhere at all (electron/main/app-protocol.ts serves it).
 */
export const DESKTOP_CONTENT_SECURITY_POLICY = policy("'none'")

/** The type a served file is sent with, by its extension. */
export function contentType(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'
}

/** A file of the built interface to send, with its bytes, or the plain answer to give instead. */
export type StaticAnswer =
  | { readonly ok: true; readonly file: string; readonly body: Buffer; readonly immutable: boolean }
  | { readonly ok: false; readonly status: 400 | 404; readonly text: string }

/**
 * The file `pathname` (split from its query, dot segments resolved by the URL parser) names
 * under `root`, never one outside it. The web mode's server and the desktop app's protocol
 * handler both answer from it.
 */
export async function staticFile(root: string, pathname: string): Promise<StaticAnswer> {
  const segments = segmentsOf(pathname)
  if (segments === null) return { ok: false, status: 400, text: 'bad path\n' }
  const file = await inside(root, segments.length === 0 ? ['index.html'] : segments)
  if (file === 'no-root') return { ok: false, status: 404, text: NOT_BUILT }
  if (file === null) {
    return { ok: false, status: 404, text: segments.length === 0 ? NOT_BUILT : 'not found\n' }
  }
  let body: Buffer
  try {
    body = await readFile(file)
  } catch {
    return { ok: false, status: 404, text: 'not found\n' }
  }
  // Vite names what is under assets/ by the hash of its content: it never changes under a name.
  return { ok: true, file, body, immutable: segments[0] === 'assets' && segments.length > 1 }
}

/**
 * Answers a GET or HEAD for `pathname` (already split from its query, dot segments resolved by
 * the URL parser) from `root`. Never throws: whatever cannot be served is a plain 404 (or 400).
 */
export async function serveStatic(
  root: string,
  pathname: string,
  head: boolean,
  port: number,
  res: ServerResponse,
): Promise<void> {
  const headers = {
    'content-security-policy': contentSecurityPolicy(port),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  }
  const answer = (status: number, type: string, body: Buffer | string, cache: string) => {
    if (res.headersSent) return
    res.writeHead(status, {
      ...headers,
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': cache,
    })
    res.end(head ? undefined : body)
  }
  const plain = (status: number, text: string) =>
    answer(status, 'text/plain; charset=utf-8', text, 'no-store')

  const found = await staticFile(root, pathname)
  if (!found.ok) return plain(found.status, found.text)
  const cache = found.immutable ? 'public, max-age=31536000, immutable' : 'no-cache'
  answer(200, contentType(found.file), found.body, cache)
}

/**
 * The path's segments, decoded; null for one no file of the folder can have: a segment that
 * decodes to a dot segment or holds a separator or NUL (`%2e%2e`, `..%2f`), or bad escapes.
 */
function segmentsOf(pathname: string): string[] | null {
  const out: string[] = []
  for (const raw of pathname.split('/')) {
    if (raw === '') continue
    let s: string
    try {
      s = decodeURIComponent(raw)
    } catch {
      return null
    }
    if (s === '.' || s === '..' || /[/\\\0]/.test(s)) return null
    out.push(s)
  }
  return out
}

/**
 * The regular file at `segments` under `root`, by its real path, if that is inside the real
 * root (a link out of the folder is not followed); null if there is none; 'no-root' if the
 * folder itself is missing.
 */
async function inside(root: string, segments: string[]): Promise<string | null | 'no-root'> {
  let base: string
  try {
    base = await realpath(root)
  } catch {
    return 'no-root'
  }
  try {
    const real = await realpath(join(base, ...segments))
    if (!real.startsWith(base + sep)) return null
    return (await stat(real)).isFile() ? real : null
  } catch {
    return null
  }
}
