/**
 * The token is the only key to a node's ledger: a page opened without it, or with a wrong one,
 * learns nothing of the ledger; with it, the token leaves the address bar and the tab keeps
 * working across a reload.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import {
  assertNoApiData,
  Cluster,
  checkA11y,
  launchBrowser,
  newPage,
  openUi,
  screenshot,
  until,
  waitForShell,
} from './harness.ts'

describe('access to the interface', () => {
  let cluster: Cluster
  let browser: Browser
  const memo = `private memo ${randomBytes(4).toString('hex')}`
  let ledgerName = ''
  let ledgerId = ''

  before(async () => {
    cluster = Cluster.create({ nodes: 1 })
    ;[browser] = await Promise.all([launchBrowser(), cluster.startAll()])
    const { id } = await cluster.submit(0, {
      from: '@bank',
      to: 'alice',
      asset: 'EUR',
      amount: 4_200,
      memo,
    })
    await until('the entry committed', async () =>
      (await cluster.entry(0, id)).status === 'committed' ? true : undefined,
    )
    const status = await cluster.status(0)
    ledgerName = status.ledgerName
    ledgerId = status.ledger
  })

  after(async () => {
    await browser?.close()
    await cluster?.destroy()
  })

  /** Nothing that only the ledger knows is on the page. */
  async function assertNoLedgerText(page: Page): Promise<void> {
    // textContent, not innerText: hidden text counts too.
    const text = (await page.locator('body').textContent()) ?? ''
    assert.ok(!text.includes(memo), 'the page shows an entry memo')
    assert.ok(!text.includes(ledgerName), `the page shows the ledger's name (${ledgerName})`)
    assert.ok(!text.includes(ledgerId.slice(0, 12)), "the page shows the ledger's id")
    assert.ok(!text.includes('alice'), 'the page shows an account')
  }

  it('a page opened without the token says it needs its access address and gets no ledger data', async () => {
    const { page, record } = await newPage(browser)
    await page.goto(`${cluster.ready(0).api}/`)
    await page.getByRole('heading', { name: 'Tally needs its access address' }).waitFor()
    // Long enough for the status poll (2 s) and a reconnecting event stream to have asked.
    await page.waitForTimeout(2_500)
    assertNoApiData(record)
    assert.deepEqual(record.requests, [], 'a page without a token asks the node for nothing')
    await assertNoLedgerText(page)
    assert.deepEqual(record.errors, [])
    await screenshot(page, 'no-token')
    await checkA11y(page, 'the no-token page')
    await page.context().close()
  })

  it('a page with a wrong token says the node refused it, and gets no ledger data', async () => {
    const { page, record } = await newPage(browser)
    await page.goto(`${cluster.ready(0).api}/#token=${'0'.repeat(64)}`)
    await page.getByRole('heading', { name: 'Tally needs its access address' }).waitFor()
    await page.getByRole('alert').filter({ hasText: 'did not accept' }).waitFor()
    await page.waitForTimeout(2_500)
    assertNoApiData(record)
    assert.ok(
      record.responses.some((r) => r.status === 401),
      'the node was asked and answered 401',
    )
    await assertNoLedgerText(page)
    assert.ok(!page.url().includes('token='), 'the wrong token stays in the address bar')
    await screenshot(page, 'wrong-token')
    await checkA11y(page, 'the wrong-token page')
    await page.context().close()
  })

  it('with the token the ledger shows, the token leaves the address bar, and a reload keeps working', async () => {
    const { page, record } = await newPage(browser)
    await openUi(page, cluster.ready(0))
    assert.ok(!page.url().includes('token='), `the address bar still has the token: ${page.url()}`)
    await page.getByRole('navigation', { name: 'Screens' }).getByText(ledgerName).waitFor()
    await page.reload()
    await waitForShell(page)
    assert.ok(!page.url().includes('token='))
    await page.getByRole('navigation', { name: 'Screens' }).getByText(ledgerName).waitFor()
    assert.equal(
      record.events.filter((e) => e.includes('"type":"hello"')).length,
      2,
      'the event stream opened with the token before and after the reload',
    )
    assert.ok(!record.responses.some((r) => r.status === 401), 'no request was refused')
    assert.deepEqual(record.errors, [])
    await page.context().close()
  })
})
