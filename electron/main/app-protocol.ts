/**
 * `app://tally/…`: the built interface (renderer/dist), served from the app's own files rather than
 * `file://`, which the checklist advises against (file pages get extra privileges, and every file
 * on the disk is a `file://` URL). Each answer carries the desktop CSP, which lets the page
 * connect nowhere: it reaches its core over the MessagePort alone.
 */
import { contentType, DESKTOP_CONTENT_SECURITY_POLICY, staticFile } from '../../core/api/static.ts'
import { APP_HOST } from './security.ts'

const HEADERS = {
  'content-security-policy': DESKTOP_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

/** The answer to a request for `url` from the interface built in `root`. Never throws. */
export async function appResponse(root: string, url: string, method: string): Promise<Response> {
  const plain = (status: number, text: string) =>
    new Response(text, {
      status,
      headers: { ...HEADERS, 'content-type': 'text/plain; charset=utf-8' },
    })
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return plain(400, 'bad address\n')
  }
  if (u.host !== APP_HOST) return plain(404, 'not found\n')
  if (method !== 'GET' && method !== 'HEAD') return plain(405, 'the interface is read only\n')
  const found = await staticFile(root, u.pathname)
  if (!found.ok) return plain(found.status, found.text)
  return new Response(method === 'HEAD' ? null : new Uint8Array(found.body), {
    status: 200,
    headers: { ...HEADERS, 'content-type': contentType(found.file) },
  })
}
