/**
 * `app://tally/…` (electron/main/app-protocol.ts): the built interface served from its folder with
 * the desktop policy, and nothing outside that folder, however the address is written.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DESKTOP_CONTENT_SECURITY_POLICY, NOT_BUILT } from '../../../core/api/static.ts'
import { appResponse } from '../../../electron/main/app-protocol.ts'

const INDEX =
  '<!doctype html><title>Tally</title><script type="module" src="./assets/x.js"></script>'
const SCRIPT = 'console.log("tally")\n'
const SECRET = 'the private key of this machine'

describe('the app:// protocol', () => {
  let base: string
  let root: string
  before(() => {
    base = mkdtempSync(join(tmpdir(), 'tally-app-protocol-'))
    root = join(base, 'dist')
    mkdirSync(join(root, 'assets'), { recursive: true })
    writeFileSync(join(root, 'index.html'), INDEX)
    writeFileSync(join(root, 'assets', 'x.js'), SCRIPT)
    writeFileSync(join(root, 'assets', 'style.css'), 'body{}')
    writeFileSync(join(base, 'secret.txt'), SECRET)
    symlinkSync(join(base, 'secret.txt'), join(root, 'link.txt'))
    symlinkSync(base, join(root, 'up'))
  })
  after(() => rmSync(base, { recursive: true, force: true }))

  /** Fails if the answer is the outside file's text. */
  async function refused(url: string): Promise<number> {
    const res = await appResponse(root, url, 'GET')
    const text = await res.text()
    assert.equal(text.includes(SECRET), false, `${url} read the outside file`)
    assert.ok(res.status === 404 || res.status === 400, `${url}: ${res.status}`)
    return res.status
  }

  it('serves index.html for app://tally/ and app://tally/index.html, with the desktop policy', async () => {
    for (const url of ['app://tally/', 'app://tally/index.html', 'app://tally/index.html?x=1']) {
      const res = await appResponse(root, url, 'GET')
      assert.equal(res.status, 200, url)
      assert.equal(await res.text(), INDEX, url)
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
      assert.equal(res.headers.get('content-security-policy'), DESKTOP_CONTENT_SECURITY_POLICY)
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer')
    }
  })

  it('serves assets with their own type', async () => {
    const js = await appResponse(root, 'app://tally/assets/x.js', 'GET')
    assert.equal(js.status, 200)
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8')
    assert.equal(await js.text(), SCRIPT)
    assert.equal(js.headers.get('content-security-policy'), DESKTOP_CONTENT_SECURITY_POLICY)
    const css = await appResponse(root, 'app://tally/assets/style.css', 'GET')
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8')
  })

  it('answers HEAD with the headers and no body', async () => {
    const res = await appResponse(root, 'app://tally/index.html', 'HEAD')
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(res.body, null)
    assert.equal(await res.text(), '')
  })

  it('refuses `..` and `%2e%2e` traversal and never reads the outside file', async () => {
    for (const url of [
      'app://tally/../secret.txt',
      'app://tally/assets/../../secret.txt',
      'app://tally/%2e%2e/secret.txt',
      'app://tally/%2E%2E/%2e%2e/secret.txt',
      'app://tally/assets/..%2f..%2fsecret.txt',
      'app://tally/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      'app://tally/..%5csecret.txt',
      'app://tally/%00',
      'app://tally/%zz',
    ]) {
      await refused(url)
    }
    // An encoded separator inside a segment is refused outright, not looked up.
    assert.equal(await refused('app://tally/assets/..%2f..%2fsecret.txt'), 400)
  })

  it('refuses a symlink out of the root, to a file or a folder', async () => {
    assert.equal(await refused('app://tally/link.txt'), 404)
    assert.equal(await refused('app://tally/up/secret.txt'), 404)
  })

  it('answers 404 for a file that is not there and for another host', async () => {
    assert.equal((await appResponse(root, 'app://tally/nothing.js', 'GET')).status, 404)
    for (const url of [
      'app://evil/index.html',
      'app://tally.evil/index.html',
      'app://tally@evil/',
    ]) {
      const res = await appResponse(root, url, 'GET')
      assert.equal(res.status, 404, url)
      assert.equal((await res.text()).includes('<title>Tally'), false, url)
      assert.equal(res.headers.get('content-security-policy'), DESKTOP_CONTENT_SECURITY_POLICY)
    }
  })

  it('answers 405 to anything but GET and HEAD: the interface is read only', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await appResponse(root, 'app://tally/index.html', method)
      assert.equal(res.status, 405, method)
      assert.equal((await res.text()).includes('<title>'), false)
    }
  })

  it('answers 400 to an address that does not parse', async () => {
    assert.equal((await appResponse(root, 'not a url', 'GET')).status, 400)
  })

  it('answers 404 with "not built" when the interface folder is missing', async () => {
    const res = await appResponse(join(base, 'never-built'), 'app://tally/', 'GET')
    assert.equal(res.status, 404)
    assert.equal(await res.text(), NOT_BUILT)
    assert.match(NOT_BUILT, /not built/)
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8')
  })
})
