/**
 * The built interface served from the API port: its files without the token, with a policy that
 * keeps the page to its own origin; nothing outside its folder; and /api/ as closed as before.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type ApiServer, startApi } from '../../../core/api/server.ts'
import type { ApiHost } from '../../../core/api/setup-routes.ts'
import { TOKEN } from './helpers.ts'

/** A machine with neither node nor lobby: enough for routes that never reach either. */
const nobody: ApiHost = {
  node: null,
  lobby: null,
  subscribe: () => () => {},
  create: () => Promise.reject(new Error('not here')),
}

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** A request with its target sent as written: fetch would resolve `..` before sending. */
function raw(api: ApiServer, target: string, method = 'GET', token?: string): Promise<Answer> {
  const { port } = new URL(api.url)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: target,
        method,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          body += d
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('the interface served from the API port', () => {
  let root: string
  let dist: string
  let api: ApiServer
  const INDEX =
    '<!doctype html><title>Tally</title><script type="module" src="./assets/x.js"></script>'

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'tally-static-'))
    dist = join(root, 'dist')
    mkdirSync(join(dist, 'assets'), { recursive: true })
    writeFileSync(join(dist, 'index.html'), INDEX)
    writeFileSync(join(dist, 'assets', 'x.js'), 'console.log(1)\n')
    writeFileSync(join(dist, 'assets', 'x.css'), 'body{}\n')
    // What must never be reachable: beside the folder, and linked into it.
    writeFileSync(join(root, 'package.json'), '{"secret":true}')
    symlinkSync(join(root, 'package.json'), join(dist, 'linked.json'))
    api = await startApi(nobody, { port: 0, token: TOKEN, staticDir: dist })
  })

  after(async () => {
    await api.close()
    rmSync(root, { recursive: true, force: true })
  })

  it('serves index.html at / without the token, with the headers that confine the page', async () => {
    const { port } = new URL(api.url)
    const r = await raw(api, '/')
    assert.equal(r.status, 200)
    assert.equal(r.body, INDEX)
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8')
    assert.equal(r.headers['cache-control'], 'no-cache')
    assert.equal(r.headers['x-content-type-options'], 'nosniff')
    assert.equal(r.headers['referrer-policy'], 'no-referrer')
    assert.equal(
      r.headers['content-security-policy'],
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        `font-src 'self'; connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}; ` +
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    )
    assert.equal((await raw(api, '/index.html')).body, INDEX)
    assert.equal((await raw(api, '/?x=1')).body, INDEX)
  })

  it('serves assets with their type and a long cache, and HEAD without a body', async () => {
    const js = await raw(api, '/assets/x.js')
    assert.equal(js.status, 200)
    assert.equal(js.body, 'console.log(1)\n')
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8')
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable')
    assert.ok(js.headers['content-security-policy'])
    const css = await raw(api, '/assets/x.css')
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8')
    const head = await raw(api, '/assets/x.js', 'HEAD')
    assert.equal(head.status, 200)
    assert.equal(head.body, '')
    assert.equal(head.headers['content-length'], String('console.log(1)\n'.length))
  })

  it('answers a plain 404 for what is not a file of the folder, listing nothing', async () => {
    for (const target of ['/nope.js', '/assets', '/assets/', '/assets/nope.js']) {
      const r = await raw(api, target)
      assert.equal(r.status, 404, target)
      assert.match(String(r.headers['content-type']), /^text\/plain/, target)
      assert.ok(r.headers['content-security-policy'], target)
      assert.doesNotMatch(r.body, /x\.js/, target)
    }
  })

  it('refuses every way out of the folder', async () => {
    for (const target of [
      '/../package.json',
      '/assets/../../package.json',
      '/%2e%2e/package.json',
      '/%2E%2E/package.json',
      '/..%2fpackage.json',
      '/%2e%2e%2fpackage.json',
      '/assets/..%2f..%2fpackage.json',
      '/..%5cpackage.json',
      '/%00',
      '/%zz',
      '/linked.json',
    ]) {
      const r = await raw(api, target)
      assert.ok(r.status === 404 || r.status === 400, `${target}: ${r.status}`)
      assert.doesNotMatch(r.body, /secret/, target)
    }
  })

  it('keeps /api/ behind the token, and other methods too', async () => {
    const status = await raw(api, '/api/status')
    assert.equal(status.status, 401)
    assert.equal(status.headers['content-security-policy'], undefined)
    assert.equal((await raw(api, '/api/setup')).status, 401)
    assert.equal((await raw(api, '/api/nope')).status, 401)
    // With the token, the API answers as ever (here: a machine neither starting nor stopped).
    assert.equal((await raw(api, '/api/setup', 'GET', TOKEN)).status, 503)
    assert.equal((await raw(api, '/', 'POST')).status, 401)
    assert.equal((await raw(api, '/index.html', 'DELETE')).status, 401)
  })
})

describe('the API port without an interface folder', () => {
  it('answers 401 to everything without the token, as before', async () => {
    const api = await startApi(nobody, { port: 0, token: TOKEN })
    try {
      for (const target of ['/', '/index.html', '/assets/x.js', '/api/status']) {
        assert.equal((await raw(api, target)).status, 401, target)
      }
    } finally {
      await api.close()
    }
  })

  it('says the interface is not built when its folder is missing', async () => {
    const missing = join(tmpdir(), `tally-no-dist-${process.pid}-${Date.now()}`)
    const api = await startApi(nobody, { port: 0, token: TOKEN, staticDir: missing })
    try {
      const r = await raw(api, '/')
      assert.equal(r.status, 404)
      assert.match(r.body, /not built.*npm run build/)
      assert.match((await raw(api, '/assets/x.js')).body, /not built/)
      assert.equal((await raw(api, '/api/status')).status, 401)
    } finally {
      await api.close()
    }
  })
})
