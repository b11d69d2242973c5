/**
 * The desktop app's page as its window runs it, short of Electron: the built interface served by
 * the desktop app's own protocol handler (electron/main/app-protocol.ts, with its CSP that lets
 * the page connect nowhere), `window.tally` from a real `PortRelay`, and the real core in a child
 * process (test/unit/electron/core-process.ts). Covers what the Electron launch test cannot here:
 * the interface works over the port alone, says when the core crashed and when it is being
 * restarted or not, and carries on with the restarted core without a reload.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import type { CoreDownCause, PortLike } from '../../core/api/port-protocol.ts'
import { appResponse } from '../../electron/main/app-protocol.ts'
import { Core } from '../unit/electron/core-process.ts'
import { goTo, launchBrowser, newPage, screenshot, submitInUi, waitForShell } from './harness.ts'

const DIST = resolve(import.meta.dirname, '../../renderer/dist')

/** The page's core: a core process, its port, and the page's side of the relay, in order. */
class Wire {
  core: Core | null = null
  #port: PortLike | null = null
  #queue: Promise<unknown> = Promise.resolve()
  constructor(private readonly page: Page) {}

  async connect(dataDir: string): Promise<void> {
    const core = new Core(dataDir)
    const port = core.connect()
    this.core = core
    this.#port = port
    await this.page.evaluate(() =>
      (globalThis as unknown as { __desktop: { attach(): void } }).__desktop.attach(),
    )
    port.addEventListener('message', (e) => {
      if (this.#port !== port) return
      // One at a time, so the page gets them in the order the core posted them.
      this.#queue = this.#queue.then(() =>
        this.page
          .evaluate(
            (m) =>
              (
                globalThis as unknown as { __desktop: { deliver(m: unknown): void } }
              ).__desktop.deliver(m),
            e.data,
          )
          .catch(() => {}),
      )
    })
  }

  toCore(message: unknown): void {
    this.#port?.postMessage(message)
  }

  /** The core's process is gone: main tells the page why. */
  async down(cause: CoreDownCause): Promise<void> {
    this.#port = null
    await this.page.evaluate(
      (c) =>
        (globalThis as unknown as { __desktop: { detach(c: unknown): void } }).__desktop.detach(c),
      cause,
    )
  }
}

describe('the desktop page over its port, in Chromium', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-desktop-page-'))
  const dataDir = join(dir, 'node')
  let server: Server
  let origin = ''
  let browser: Browser
  let page: Page
  let wire: Wire
  let errors: string[] = []

  before(async () => {
    server = createServer((req, res) => {
      void appResponse(DIST, `app://tally${req.url ?? '/'}`, req.method ?? 'GET').then(
        async (r) => {
          res.writeHead(r.status, Object.fromEntries(r.headers))
          res.end(Buffer.from(await r.arrayBuffer()))
        },
      )
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const stub = await build({
      entryPoints: [join(import.meta.dirname, 'desktop-page-stub.ts')],
      bundle: true,
      format: 'iife',
      write: false,
      logLevel: 'error',
    })
    browser = await launchBrowser()
    const opened = await newPage(browser)
    page = opened.page
    errors = opened.record.errors
    wire = new Wire(page)
    await page.exposeFunction('__toCore', (m: unknown) => wire.toCore(m))
    await page.addInitScript({ content: stub.outputFiles[0]!.text })
  })
  after(async () => {
    await browser?.close()
    wire?.core?.child.kill('SIGKILL')
    server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('shows the first run over the port under the desktop CSP, and a ledger made there takes an entry that commits', async () => {
    const csp = (await fetch(`${origin}/index.html`)).headers.get('content-security-policy') ?? ''
    assert.match(csp, /connect-src 'none'/)
    await page.goto(`${origin}/index.html`)
    await wire.connect(dataDir)
    await page.getByRole('heading', { name: 'Welcome to Tally' }).waitFor()
    await page.getByLabel('Ledger name').fill('Desk ledger')
    await page.getByRole('button', { name: 'Create ledger' }).click()
    await waitForShell(page)
    await submit(page, 'first from the desk')
    assert.deepEqual(errors, [])
  })

  it('says the core stopped and is being started again, then carries on with the new core without a reload', async () => {
    wire.core!.child.kill('SIGKILL')
    await wire.core!.exited
    const text = "Tally's core stopped unexpectedly (ended by a signal); it is being started again."
    await wire.down({ text, restarting: true })
    // The banner's alert, not the panels that quote the cause in their own errors.
    const alert = page.locator('[role="alert"][data-cause="restarting"]')
    await alert.waitFor()
    assert.equal(await alert.textContent().then((t) => t?.includes(text)), true)
    await page.getByText(/Trying again/).waitFor()
    await screenshot(page, 'desktop-core-restarting')

    await wire.connect(dataDir)
    await alert.waitFor({ state: 'detached' })
    // The entry from before the crash is there, and a new one commits on the restarted core.
    await goTo(page, 'ledger')
    await page
      .locator('tr[data-entry-id]')
      .filter({ hasText: 'first from the desk' })
      .locator('[data-status="committed"]')
      .waitFor()
    await submit(page, 'after the restart')
    assert.deepEqual(errors, [])
  })

  it('says why when the core is no longer restarted, with no countdown', async () => {
    wire.core!.stop()
    await wire.core!.exited
    const text =
      'Tally\'s core stopped unexpectedly 5 times within 2 minutes, so it is no longer started again (last: exit code 1). Use "Restart the core" in the tray menu, or quit Tally and start it again.'
    await wire.down({ text, restarting: false })
    await page
      .locator('[data-cause="stopped"]')
      .filter({ hasText: 'no longer started again' })
      .waitFor()
    assert.equal(await page.getByText(/Trying again/).count(), 0)
    await screenshot(page, 'desktop-core-stopped')
  })
})

/** Submits a transfer through the form and waits for its row to show it committed. */
async function submit(page: Page, memo: string): Promise<void> {
  const id = await submitInUi(page, {
    from: '@bank',
    to: 'alice',
    asset: 'EUR',
    amount: '12.50',
    memo,
  })
  await goTo(page, 'ledger')
  await page.locator(`tr[data-entry-id="${id}"] [data-status="committed"]`).waitFor()
}
