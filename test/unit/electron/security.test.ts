/**
 * The rules that confine the desktop window (electron/main/security.ts) and the policy its page is
 * served with (DESKTOP_CONTENT_SECURITY_POLICY in core/api/static.ts), from Electron's security
 * checklist (ux-style.md §3.1).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DESKTOP_CONTENT_SECURITY_POLICY } from '../../../core/api/static.ts'
import {
  APP_ENTRY,
  allowPermission,
  isAppUrl,
  isTrustedSender,
  REMOTE_URL_PATTERNS,
  secureWebPreferences,
} from '../../../electron/main/security.ts'

/** The policy's directives by name, each with its sources. */
function directives(policy: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (name === undefined || name === '') continue
    assert.equal(out.has(name), false, `${name} is given twice`)
    out.set(name, sources)
  }
  return out
}

describe("the app's own URLs", () => {
  it('accepts the entry page and the files beside it', () => {
    assert.equal(APP_ENTRY, 'app://tally/index.html')
    for (const url of [
      'app://tally/index.html',
      'app://tally/assets/x.js',
      'app://tally/',
      'app://tally/index.html#/ledger',
    ]) {
      assert.equal(isAppUrl(url), true, url)
    }
  })

  it('rejects another host, another scheme, credentials, script URLs and garbage', () => {
    for (const url of [
      'app://evil/',
      'app://evil/index.html',
      'app://tally.evil/index.html',
      'app://tally:8080/index.html',
      'https://tally/',
      'http://tally/index.html',
      'file:///home/ana/index.html',
      'file://tally/index.html',
      'app://tally@evil/',
      'app://evil@tally/',
      'app://user:pw@tally/',
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'about:blank',
      '',
      'app:tally/index.html',
      'not a url',
      '//tally/index.html',
    ]) {
      assert.equal(isAppUrl(url), false, url)
    }
  })
})

describe("the window's web preferences", () => {
  it('isolate and sandbox the page, with no Node anywhere and every checklist item set', () => {
    const prefs = secureWebPreferences('/app/dist-electron/preload.cjs')
    assert.equal(prefs.preload, '/app/dist-electron/preload.cjs')
    assert.equal(prefs.contextIsolation, true)
    assert.equal(prefs.sandbox, true)
    assert.equal(prefs.nodeIntegration, false)
    assert.equal(prefs.nodeIntegrationInWorker, false)
    assert.equal(prefs.nodeIntegrationInSubFrames, false)
    assert.equal(prefs.webSecurity, true)
    assert.equal(prefs.allowRunningInsecureContent, false)
    assert.equal(prefs.experimentalFeatures, false)
    assert.equal(prefs.webviewTag, false)
    assert.equal(prefs.enableBlinkFeatures, undefined)
  })
})

describe('the sender of an IPC message', () => {
  it('is trusted from the top frame of the app page', () => {
    assert.equal(isTrustedSender({ url: 'app://tally/index.html', parent: null }), true)
  })

  it('is not trusted from a subframe, even one of the app', () => {
    assert.equal(isTrustedSender({ url: 'app://tally/index.html', parent: {} }), false)
    // A frame whose parent Electron leaves undefined is not known to be the top one either.
    assert.equal(isTrustedSender({ url: 'app://tally/index.html', parent: undefined }), false)
  })

  it('is not trusted from another URL', () => {
    for (const url of [
      'https://evil.example/',
      'app://evil/index.html',
      'file:///index.html',
      '',
    ]) {
      assert.equal(isTrustedSender({ url, parent: null }), false, url)
    }
  })

  it('is not trusted from a frame that is gone (null or undefined)', () => {
    assert.equal(isTrustedSender(null), false)
    assert.equal(isTrustedSender(undefined), false)
  })
})

describe("the desktop page's content security policy", () => {
  const csp = directives(DESKTOP_CONTENT_SECURITY_POLICY)

  it('lets the page connect nowhere: it reaches its core over the MessagePort only', () => {
    assert.deepEqual(csp.get('connect-src'), ["'none'"])
  })

  it("runs only the app's own scripts: nothing inline, nothing evaluated", () => {
    const scripts = csp.get('script-src')
    assert.deepEqual(scripts, ["'self'"])
    assert.equal(DESKTOP_CONTENT_SECURITY_POLICY.includes("'unsafe-eval'"), false)
    assert.equal(DESKTOP_CONTENT_SECURITY_POLICY.includes("'wasm-unsafe-eval'"), false)
  })

  it('denies by default, and embeds, frames and rebases nothing', () => {
    assert.deepEqual(csp.get('default-src'), ["'none'"])
    assert.deepEqual(csp.get('object-src'), ["'none'"])
    assert.deepEqual(csp.get('frame-ancestors'), ["'none'"])
    assert.deepEqual(csp.get('base-uri'), ["'none'"])
    assert.deepEqual(csp.get('form-action'), ["'none'"])
    // No source anywhere names a remote scheme or host.
    for (const [name, sources] of csp) {
      for (const s of sources) {
        assert.doesNotMatch(s, /^(https?|wss?|file):|\*/, `${name} ${s}`)
      }
    }
  })
})

describe('requests cancelled before they are sent', () => {
  it('cover http, https, ws, wss and file', () => {
    for (const scheme of ['http', 'https', 'ws', 'wss']) {
      assert.ok(REMOTE_URL_PATTERNS.includes(`${scheme}://*/*`), scheme)
    }
    // Chromium's match patterns name file URLs with an empty host: `file://*/*` matches none.
    assert.ok(REMOTE_URL_PATTERNS.includes('file:///*'))
    assert.equal(
      REMOTE_URL_PATTERNS.some((p) => p.startsWith('app:')),
      false,
    )
  })
})

describe('permissions the page may have', () => {
  it('is only the clipboard write, only for the app page', () => {
    assert.equal(allowPermission('clipboard-sanitized-write', 'app://tally/index.html'), true)
    assert.equal(allowPermission('clipboard-sanitized-write', 'app://tally'), true)
    assert.equal(allowPermission('clipboard-sanitized-write', 'https://evil.example/'), false)
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      assert.equal(allowPermission(p, 'app://tally/index.html'), false, p)
    }
  })
})
