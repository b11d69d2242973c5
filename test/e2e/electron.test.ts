/**
 * The desktop app itself, launched by Playwright: its window shows the app, a ledger is created
 * in it, an entry submitted in its window commits, and the window is confined as
 * electron/main/security.ts says. It needs Electron's binary, which cannot be downloaded on a
 * machine without internet, so there it is skipped with the reason; everything below the shell
 * runs in Chromium in the other end-to-end tests, and the shell's parts in test/unit/electron.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { _electron } from 'playwright-core'
import { cachedElectronSqliteBinding } from '../../core/cli/electron-native.ts'
import { electronBlocked, findElectron } from '../../core/cli/start-command.ts'
import { LOOPBACK } from '../unit/electron/core-process.ts'
import { goTo, submitInUi, waitForShell } from './harness.ts'

const ROOT = resolve(import.meta.dirname, '../..')

// Never a download from a test: only a binary already installed is used.
const electron = await findElectron({ ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }, () => {})
// Nor a build: better-sqlite3 for Electron needs Electron's headers, downloaded. `npm start`
// makes both once, where there is internet; then this test runs.
const binding = electron.found ? cachedElectronSqliteBinding(electron.version) : null
const skip = !electron.found
  ? 'no Electron binary is installed on this machine (node_modules/electron/dist), and tests never download one; where there is internet, a first `npm start` installs it and this test runs'
  : binding === null
    ? 'better-sqlite3 is not built for Electron on this machine yet, and tests never download what that takes; a first `npm start` builds it and this test runs'
    : (electronBlocked(process.platform, process.env, electron.path) ?? false)

describe('the desktop app', { timeout: 300_000 }, () => {
  it('launches, creates a ledger in its window, and an entry submitted there commits', {
    skip,
  }, async () => {
    assert.ok(electron.found && binding !== null)
    const dir = mkdtempSync(join(tmpdir(), 'tally-electron-'))
    const app = await _electron.launch({
      executablePath: electron.path,
      // Loopback only and no mDNS: a test reaches nothing beyond this machine.
      args: [ROOT, '--data-dir', dir, ...LOOPBACK],
      env: { ...process.env, TALLY_SQLITE_BINDING: binding },
    })
    try {
      const win = await app.firstWindow()
      win.setDefaultTimeout(30_000)
      assert.equal(new URL(win.url()).protocol, 'app:')

      // The page has the port and nothing else of the shell: no Node, no IPC.
      const exposed = await win.evaluate(() => {
        const page = globalThis as { tally?: object; require?: unknown; process?: unknown }
        return {
          tally: Object.keys(page.tally ?? {}),
          require: typeof page.require,
          process: typeof page.process,
        }
      })
      assert.deepEqual(exposed, { tally: ['port'], require: 'undefined', process: 'undefined' })
      // A new window is refused (setWindowOpenHandler): nothing opens, and no page leaves the app.
      await win.evaluate(() => {
        ;(globalThis as { open?: (url: string) => unknown }).open?.('https://example.com/')
      })
      assert.equal(
        await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length),
        1,
      )

      await win.getByRole('heading', { name: 'Welcome to Tally' }).waitFor()
      await win.getByLabel('Ledger name').fill('Desktop ledger')
      await win.getByRole('button', { name: 'Create ledger' }).click()
      await waitForShell(win)

      const id = await submitInUi(win, {
        from: '@bank',
        to: 'alice',
        asset: 'EUR',
        amount: '12.50',
        memo: 'from the desktop app',
      })
      await goTo(win, 'ledger')
      await win.locator(`tr[data-entry-id="${id}"] [data-status="committed"]`).waitFor()
    } finally {
      // Quitting stops the node first: its api.json goes with a clean stop.
      await app.close()
      assert.equal(existsSync(join(dir, 'node', 'api.json')), false)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
