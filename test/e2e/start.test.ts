/**
 * `npm start` on a machine where Electron cannot run (this one: its binary cannot be downloaded):
 * one line says Electron is missing, and the same interface is served in web mode on the desktop
 * app's own data folder, at an address that answers with the app.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import type { Browser } from 'playwright-core'
import { trackNode } from '../cluster/harness.ts'
import { LOOPBACK } from '../unit/electron/core-process.ts'
import { launchBrowser, newPage } from './harness.ts'

const BIN = resolve(import.meta.dirname, '../../bin/tally.js')

describe('npm start where Electron cannot run', { timeout: 120_000 }, () => {
  const home = mkdtempSync(join(tmpdir(), 'tally-start-'))
  let child: ChildProcess
  let address = ''
  let stderr = ''
  let browser: Browser | null = null

  before(async () => {
    // Loopback only and no mDNS: a test reaches nothing beyond this machine.
    child = spawn(process.execPath, [BIN, 'start', ...LOOPBACK], {
      // No download is tried (CI sets this too): the tests reach nothing beyond this machine.
      env: {
        ...process.env,
        ELECTRON_SKIP_BINARY_DOWNLOAD: '1',
        HOME: home,
        XDG_CONFIG_HOME: join(home, 'config'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    trackNode(child)
    child.stderr!.on('data', (d) => {
      stderr += String(d)
    })
    const lines = createInterface({ input: child.stdout! })
    address = await new Promise<string>((resolvePromise, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no address within 60 s; stderr:\n${stderr}`)),
        60_000,
      )
      lines.on('line', (line) => {
        const m = /Open (http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]+)$/.exec(line)
        if (m === null) return
        clearTimeout(timer)
        resolvePromise(m[1]!)
      })
      child.once('exit', (code) =>
        reject(new Error(`tally start exited (${code}); stderr:\n${stderr}`)),
      )
    })
  })
  after(async () => {
    await browser?.close()
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    rmSync(home, { recursive: true, force: true })
  })

  it('says in one line that Electron is missing and that it runs the web mode instead', () => {
    const lines = stderr.split('\n').filter((l) => l.trim() !== '')
    assert.equal(lines.length, 1, stderr)
    assert.match(
      lines[0]!,
      /^tally start: Electron is missing \(.+\); running the interface in web mode instead$/,
    )
  })

  it('serves the app at the printed address, under its CSP, on the desktop app’s data folder', async () => {
    const res = await fetch(new URL(address).origin)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/)
    assert.match(await res.text(), /<title>Tally<\/title>/)
    // Electron's userData on Linux is $XDG_CONFIG_HOME/<productName>; the node lives in node/.
    assert.ok(existsSync(join(home, 'config', 'Tally', 'node', 'api.json')))
  })

  it('the address opens the interface: a blank machine shows its first-run screen', async () => {
    browser = await launchBrowser()
    const { page, record } = await newPage(browser)
    await page.goto(address)
    await page.getByRole('heading', { name: 'Welcome to Tally' }).waitFor()
    assert.deepEqual(record.errors, [])
  })

  it('stops its node cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.kill('SIGTERM')
    assert.equal(await exited, 0, stderr)
    assert.equal(existsSync(join(home, 'config', 'Tally', 'node', 'api.json')), false)
  })
})
