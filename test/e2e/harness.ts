/**
 * End-to-end tests of the interface: real `tally node` processes (test/cluster/harness.ts), each
 * serving the built renderer on its API port, driven by Debian's Chromium through playwright-core.
 * No browser is ever downloaded: a machine without /usr/bin/chromium fails the tests and says
 * how to install it. Every address is 127.0.0.1.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { type Cluster, type Ready, stopNodesOnSignals } from '../cluster/harness.ts'

export { Cluster, killAllNodes, type Ready, until } from '../cluster/harness.ts'

export const CHROMIUM = '/usr/bin/chromium'
export const SCREENSHOTS = resolve(import.meta.dirname, 'screenshots')
const DIST = resolve(import.meta.dirname, '../../renderer/dist/index.html')
export const VIEWPORT = { width: 1280, height: 800 } as const
export const THEMES = ['light', 'dark'] as const
export type Theme = (typeof THEMES)[number]

// A test run stopped by Ctrl-C must not leave nodes behind (playwright closes its browser itself).
stopNodesOnSignals()

/** Debian's Chromium, headless, with nothing that reaches beyond this machine. */
export async function launchBrowser(): Promise<Browser> {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: the end-to-end tests use Debian's Chromium, never a downloaded one. Install it with: apt-get install chromium`,
  )
  assert.ok(existsSync(DIST), `${DIST} is missing: build the interface first (npm run build)`)
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** What a page did: API answers it got, requests it sent, event messages, scripts that threw. */
export interface PageRecord {
  readonly responses: { method: string; path: string; status: number }[]
  readonly requests: { method: string; path: string; headers: Record<string, string> }[]
  /** Messages received on the event stream (/api/events). */
  readonly events: string[]
  readonly errors: string[]
}

/**
 * A fresh tab (its own context, so its own sessionStorage) at 1280×800 in light mode, recording
 * every request to a node's API.
 */
export async function newPage(browser: Browser): Promise<{ page: Page; record: PageRecord }> {
  const context: BrowserContext = await browser.newContext({
    viewport: VIEWPORT,
    colorScheme: 'light',
    reducedMotion: 'reduce',
  })
  const page = await context.newPage()
  // Commits on two busy cores can take a while; a missing element still fails in bounded time.
  page.setDefaultTimeout(30_000)
  const record: PageRecord = { responses: [], requests: [], events: [], errors: [] }
  page.on('request', (req) => {
    const url = new URL(req.url())
    if (url.pathname.startsWith('/api/')) {
      record.requests.push({
        method: req.method(),
        path: url.pathname + url.search,
        headers: req.headers(),
      })
    }
  })
  page.on('response', (res) => {
    const url = new URL(res.url())
    if (url.pathname.startsWith('/api/')) {
      record.responses.push({
        method: res.request().method(),
        path: url.pathname + url.search,
        status: res.status(),
      })
    }
  })
  page.on('websocket', (ws) => {
    ws.on('framereceived', (frame) => record.events.push(String(frame.payload)))
  })
  page.on('pageerror', (error) => record.errors.push(error.message))
  return { page, record }
}

export type UiNode = Pick<Ready, 'api' | 'token'>

/** The address `tally node` prints: the token in the fragment, which no server ever sees. */
export function uiUrl(node: UiNode): string {
  return `${node.api}/#token=${node.token}`
}

/** Opens node's UI with its token and waits for the shell with the node's status in it. */
export async function openUi(page: Page, node: UiNode): Promise<void> {
  await page.goto(uiUrl(node))
  await waitForShell(page)
}

export async function waitForShell(page: Page): Promise<void> {
  try {
    await page.getByRole('navigation', { name: 'Screens' }).waitFor({ timeout: 20_000 })
    await page.getByTestId('height').waitFor({ timeout: 20_000 })
  } catch (error) {
    // What the page shows instead says more than the timeout does.
    const text = await page
      .locator('body')
      .textContent()
      .catch(() => null)
    const shown = (text ?? '').replace(/\s+/g, ' ').trim().slice(0, 400)
    throw new Error(`${(error as Error).message}\nthe page shows: ${shown || '(nothing)'}`)
  }
}

export const SCREEN_LABELS = {
  ledger: 'Ledger',
  submit: 'Submit',
  peers: 'Peers',
  consensus: 'Consensus',
  members: 'Members',
  settings: 'Settings',
} as const
export type ScreenName = keyof typeof SCREEN_LABELS

/** Goes to a screen by its link in the sidebar, as a user would, and waits for its heading. */
export async function goTo(page: Page, screen: ScreenName): Promise<void> {
  const nav = page.getByRole('navigation', { name: 'Screens' })
  await nav.getByRole('link', { name: new RegExp(`^${SCREEN_LABELS[screen]}`) }).click()
  await page.waitForURL(new RegExp(`#/${screen}$`))
  await page.getByRole('heading', { level: 1 }).first().waitFor()
}

/** Two animation frames: what a change of colour scheme needs to be painted. */
async function settle(page: Page): Promise<void> {
  // A string, as the root tsconfig has no DOM types; it runs in the page.
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))')
}

/**
 * Writes `test/e2e/screenshots/<name>-light.png` and `-dark.png` of the viewport (1280×800),
 * through the system colour scheme the app follows unless the user chose one.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  for (const theme of THEMES) {
    await page.emulateMedia({ colorScheme: theme })
    await settle(page)
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${theme}.png`) })
  }
  await page.emulateMedia({ colorScheme: 'light' })
}

/**
 * Runs axe-core on the page, every rule in light and the contrast rule again in dark (the only
 * one a theme changes; a whole run takes seconds on a busy machine), and fails on any serious or
 * critical violation, listing each with its rule, impact, help and the elements it found.
 */
export async function checkA11y(page: Page, screen: string): Promise<void> {
  const found: string[] = []
  for (const theme of THEMES) {
    await page.emulateMedia({ colorScheme: theme })
    await settle(page)
    const axe = new AxeBuilder({ page })
    const result = await (theme === 'light' ? axe : axe.withRules(['color-contrast'])).analyze()
    for (const v of result.violations) {
      if (v.impact !== 'serious' && v.impact !== 'critical') continue
      const targets = v.nodes.map((n) => `      ${n.target.join(' ')}`).join('\n')
      found.push(`  [${theme}] ${v.id} (${v.impact}): ${v.help}\n${targets}`)
    }
  }
  await page.emulateMedia({ colorScheme: 'light' })
  assert.equal(
    found.length,
    0,
    `axe found serious or critical violations on ${screen}:\n${found.join('\n')}`,
  )
}

/** No answer from /api/ carried data: every one was refused (or never sent). */
export function assertNoApiData(record: PageRecord): void {
  const served = record.responses.filter((r) => r.status >= 200 && r.status < 300)
  assert.deepEqual(served, [], 'no request to /api/ may succeed without the right token')
  assert.deepEqual(record.events, [], 'the event stream must not open without the right token')
}

/**
 * The arguments that start node i of `cluster` with a token kept in its data folder
 * (`tally node --token-file`), so that a tab open on it reconnects by itself after a restart, as
 * it does in `tally demo`.
 */
export function fixedToken(cluster: Cluster, i: number): string[] {
  const file = join(cluster.nodes[i]!.dir, 'api-token')
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 })
  return ['--token-file', file, '--no-mdns']
}

/**
 * What Tab reaches on the page: walks focus forward through every control until it comes back
 * round, and returns, for each control that can take focus and is shown, whether Tab reached it,
 * its accessible name as the page gives it, and whether its focus is drawn (an outline or a
 * shadow). Run in the page as a string: the root tsconfig has no DOM types.
 */
export async function keyboardReach(
  page: Page,
): Promise<{ control: string; reached: boolean; named: boolean; drawn: boolean }[]> {
  await page.evaluate(`(() => {
    window.__reach = new Map()
    document.addEventListener('focusin', (e) => {
      const el = e.target
      const s = getComputedStyle(el)
      const drawn = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'
      window.__reach.set(el, drawn)
    }, { once: false })
    document.activeElement?.blur()
  })()`)
  const total = (await page.evaluate(
    `document.querySelectorAll('a[href],button,input,select,textarea,summary,[tabindex]').length`,
  )) as number
  for (let i = 0; i < total + 2; i++) await page.keyboard.press('Tab')
  return (await page.evaluate(`(() => {
    const out = []
    const name = (el) => {
      const labelled = el.getAttribute('aria-labelledby')
      if (labelled) return labelled.split(/\\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ').trim()
      if (el.getAttribute('aria-label')) return el.getAttribute('aria-label').trim()
      if (el.labels && el.labels.length > 0) return [...el.labels].map((l) => l.textContent).join(' ').trim()
      if (el.getAttribute('title')) return el.getAttribute('title').trim()
      return (el.textContent ?? '').trim()
    }
    for (const el of document.querySelectorAll('a[href],button,input,select,textarea,summary,[tabindex]')) {
      if (el.disabled || el.getAttribute('tabindex') === '-1' || el.closest('[inert],[hidden]')) continue
      const r = el.getBoundingClientRect()
      if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue
      if (el.type === 'radio' && !el.checked) continue // a radio group is one stop; arrows move in it
      const control = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + name(el).slice(0, 40) + '"'
      out.push({ control, reached: window.__reach.has(el), named: name(el) !== '', drawn: window.__reach.get(el) === true })
    }
    return out
  })()`)) as { control: string; reached: boolean; named: boolean; drawn: boolean }[]
}

/** Fails unless Tab reaches every shown control, and each has a name and a drawn focus. */
export async function checkKeyboard(page: Page, screen: string): Promise<void> {
  const controls = await keyboardReach(page)
  assert.ok(controls.length > 0, `no control found on ${screen}`)
  const bad = controls.filter((c) => !c.reached || !c.named || !c.drawn)
  assert.deepEqual(
    bad.map((c) =>
      [
        c.control,
        !c.reached && 'not reached by Tab',
        !c.named && 'no name',
        !c.drawn && 'no visible focus',
      ]
        .filter(Boolean)
        .join(': '),
    ),
    [],
    `keyboard on ${screen}`,
  )
}

/** Fills the Submit form as a user would and returns the id of the entry it lists as submitted. */
export async function submitInUi(
  page: Page,
  t: { from: string; to: string; asset: string; amount: string; memo: string },
): Promise<string> {
  await goTo(page, 'submit')
  await page.getByLabel('From account').fill(t.from)
  await page.getByLabel('To account').fill(t.to)
  await page.getByLabel('Asset', { exact: true }).fill(t.asset)
  await page.getByLabel('Amount', { exact: true }).fill(t.amount)
  await page.getByLabel('Memo', { exact: true }).fill(t.memo)
  await page.getByRole('button', { name: 'Submit entry' }).click()
  const item = page.locator('li[data-entry-id]').filter({ hasText: t.memo })
  await item.waitFor()
  const id = await item.getAttribute('data-entry-id')
  assert.ok(id !== null && /^[0-9a-f]{64}$/.test(id), `a listed entry has no id: ${id}`)
  return id
}
