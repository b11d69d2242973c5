/**
 * The interface against a real three-member ledger (A, B, C: node0..node2), one tab per node, in
 * the order a person would try it: an entry from A seen committed at B, invalid input refused
 * before sending, an overdraft rejected alike everywhere, every screen photographed and checked
 * by axe, C crashed and back, A alone without quorum and its waiting entry committed once B is
 * back, and a fourth machine joining through the Members screen. The tests share the cluster and
 * the browser and run in order; each leaves every node running.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { LAN_TIMING } from '../../core/consensus/timing.ts'
import {
  Cluster,
  checkA11y,
  checkKeyboard,
  fixedToken,
  goTo,
  launchBrowser,
  newPage,
  openUi,
  type PageRecord,
  SCREEN_LABELS,
  type ScreenName,
  screenshot,
  submitInUi,
  until,
  waitForShell,
} from './harness.ts'

const A = 0
const B = 1
const C = 2
/** A heartbeat block every 2 s rather than 5 s, so that "new heights" show sooner. */
const SETTINGS = { timing: { ...LAN_TIMING, idleMs: 2_000 } }

interface Tab {
  readonly page: Page
  readonly record: PageRecord
}

const tag = () => randomBytes(3).toString('hex')

function entryRow(page: Page, id: string) {
  return page.locator(`tr[data-entry-id="${id}"]`)
}

async function heightIn(page: Page, testId: string): Promise<number> {
  return Number(await page.getByTestId(testId).textContent())
}

describe('the interface on a three-member ledger', { timeout: 600_000 }, () => {
  let cluster: Cluster
  let blank: Cluster | null = null
  let browser: Browser
  const tabs: Tab[] = []
  const ui = (i: number) => tabs[i]!.page

  const startNode = (i: number) => cluster.start(i, fixedToken(cluster, i))

  before(async () => {
    cluster = Cluster.create({ nodes: 3, settings: SETTINGS })
    const started = Promise.all([A, B, C].map(startNode))
    browser = await launchBrowser()
    await started
    for (const i of [A, B, C]) {
      const tab = await newPage(browser)
      await openUi(tab.page, cluster.ready(i))
      tabs.push(tab)
    }
  })

  after(async () => {
    await browser?.close()
    await blank?.destroy()
    await cluster?.destroy()
  })

  it("an entry submitted in A's UI moves to committed there and shows committed in B's UI", async () => {
    const memo = `rent ${tag()}`
    const id = await submitInUi(ui(A), {
      from: '@bank',
      to: 'alice',
      asset: 'EUR',
      amount: '125.50',
      memo,
    })
    const posts = tabs[A]!.record.requests.filter(
      (r) => r.method === 'POST' && r.path === '/api/entries',
    )
    assert.equal(posts.length, 1)
    assert.ok(posts[0]!.headers['idempotency-key'], 'the submission carries an Idempotency-Key')
    await ui(A).locator(`li[data-entry-id="${id}"] [data-status="committed"]`).waitFor()

    await goTo(ui(B), 'ledger')
    const row = entryRow(ui(B), id)
    await row.locator('[data-status="committed"]').waitFor()
    const text = (await row.textContent()) ?? ''
    assert.match(text, /125\.50/)
    assert.match(text, /EUR/)
    assert.ok(text.includes(memo))
    assert.match(text, /alice/)
  })

  it('invalid input shows inline errors next to each field and sends nothing', async () => {
    const page = ui(A)
    await goTo(page, 'submit')
    const posts = () =>
      tabs[A]!.record.requests.filter((r) => r.method === 'POST' && r.path === '/api/entries')
        .length
    const before = posts()

    // An empty form first: every required field says what it needs.
    await page.getByLabel('From account').fill('')
    await page.getByLabel('To account').fill('')
    await page.getByLabel('Asset', { exact: true }).fill('')
    await page.getByLabel('Amount', { exact: true }).fill('')
    await page.getByLabel('Memo', { exact: true }).fill('')
    await page.getByRole('button', { name: 'Submit entry' }).click()
    for (const f of ['from', 'to', 'asset', 'amount']) {
      await page.locator(`#submit-${f}-error`).waitFor()
    }

    await page.getByLabel('From account').fill('Alice Smith')
    await page.getByLabel('To account').fill('bob')
    await page.getByLabel('Asset', { exact: true }).fill('eur!')
    await page.getByLabel('Amount', { exact: true }).fill('1.234')
    await page.getByLabel('Memo', { exact: true }).fill('x'.repeat(281))
    await page.getByRole('button', { name: 'Submit entry' }).click()
    for (const f of ['from', 'asset', 'amount', 'memo']) {
      const input = page.locator(`#submit-${f}`)
      await page.locator(`#submit-${f}-error`).waitFor()
      assert.equal(await input.getAttribute('aria-invalid'), 'true', `${f} is not marked invalid`)
      const described = (await input.getAttribute('aria-describedby')) ?? ''
      assert.ok(described.includes(`submit-${f}-error`), `${f}'s error is not tied to its field`)
    }
    assert.equal(await page.locator('#submit-to-error').count(), 0, 'a valid field shows an error')
    await screenshot(page, 'submit-invalid')
    await checkA11y(page, 'Submit with inline errors')

    await page.getByLabel('From account').fill('bob')
    await page.getByLabel('To account').fill('bob')
    await page.getByLabel('Asset', { exact: true }).fill('EUR')
    await page.getByLabel('Amount', { exact: true }).fill('-5')
    await page.getByLabel('Memo', { exact: true }).fill('')
    await page.getByRole('button', { name: 'Submit entry' }).click()
    await page.locator('#submit-to-error').waitFor()
    await page.locator('#submit-amount-error').waitFor()

    // A POST would have been sent at the click, before the next status poll (every 2 s): once a
    // poll asked after the click has its answer, any such POST has been seen.
    const poll = await page.waitForRequest((r) => r.url().endsWith('/api/status'), {
      timeout: 10_000,
    })
    await poll.response()
    assert.equal(posts(), before, 'an invalid form reached POST /api/entries')
  })

  it("an overdraft is shown rejected, with the same reason, in every node's UI", async () => {
    const memo = `overdraft ${tag()}`
    const id = await submitInUi(ui(A), {
      from: `nobody${tag()}`,
      to: 'bob',
      asset: 'EUR',
      amount: '5.00',
      memo,
    })
    const reasons: string[] = []
    for (const i of [A, B, C]) {
      await goTo(ui(i), 'ledger')
      const row = entryRow(ui(i), id)
      await row.locator('[data-status="rejected"]').waitFor()
      const reason = ((await row.locator('.reason').textContent()) ?? '').trim()
      assert.notEqual(reason, '', `node${i}'s UI gives no reason`)
      reasons.push(reason)
    }
    assert.deepEqual(new Set(reasons).size, 1, `the reasons differ: ${reasons.join(' | ')}`)
    assert.match(reasons[0]!, /balance|insufficient|overdraw|enough/i)
  })

  it('every screen passes axe, reaches each control by Tab with a name and a visible focus, and is photographed in light and dark', async () => {
    const page = ui(A)
    for (const screen of Object.keys(SCREEN_LABELS) as ScreenName[]) {
      await goTo(page, screen)
      // What each screen reads on arrival, so the picture is not of a loading state.
      if (screen === 'ledger') await page.locator('tr[data-entry-id]').first().waitFor()
      if (screen === 'peers') await page.locator('[data-peer-id]').first().waitFor()
      if (screen === 'members') await page.locator('tr[data-member-id]').first().waitFor()
      if (screen === 'consensus') {
        await page.getByTestId('consensus-proposer').waitFor()
        await page.waitForTimeout(500) // the chart draws its first points after 300 ms
      }
      await screenshot(page, screen)
      await checkA11y(page, `the ${screen} screen`)
      await checkKeyboard(page, `the ${screen} screen`)
    }
    // The removal dialog states what it would do to the quorum before anything is sent.
    await goTo(page, 'members')
    await page.getByRole('button', { name: /^Remove node2/ }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByTestId('removal-consequence').waitFor()
    await screenshot(page, 'members-remove-dialog')
    await checkA11y(page, 'the remove dialog')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'hidden' })
  })

  it("SIGKILL C: A's Peers shows C offline with its last-seen time and A's consensus view keeps new heights; restarted, C is online and caught up", async () => {
    const a = ui(A)
    const cId = cluster.nodes[C]!.id
    await goTo(a, 'peers')
    const card = a.locator(`[data-peer-id="${cId}"]`)
    const cardIn = (state: string) => a.locator(`[data-peer-id="${cId}"][data-state="${state}"]`)
    await cardIn('online').waitFor()

    await cluster.kill(C, 'SIGKILL')
    await cardIn('offline').waitFor()
    assert.match(
      (await card.getByTestId('peer-state').textContent()) ?? '',
      /offline — last seen (just now|.+ ago) \(\d\d:\d\d(:\d\d)?\)/,
    )
    await a.getByTestId('peers-quorum').filter({ hasText: '2 of 3 online' }).waitFor()
    await screenshot(a, 'peers-one-offline')

    await goTo(a, 'consensus')
    const h0 = await heightIn(a, 'consensus-height')
    await until('two new heights in A while C is down', async () =>
      (await heightIn(a, 'consensus-height')) >= h0 + 2 ? true : undefined,
    )
    await screenshot(a, 'consensus-one-offline')

    await startNode(C)
    // C's own tab, kept open, finds its node again by itself (same port, same token).
    await waitForShell(ui(C))
    await goTo(a, 'peers')
    await cardIn('online').waitFor()
    const target = (await cluster.status(A)).height
    await until('C caught up in its own UI', async () =>
      (await heightIn(ui(C), 'height')) >= target ? true : undefined,
    )
    await a.getByTestId('peers-quorum').filter({ hasText: '3 of 3 online' }).waitFor()
  })

  it('with two of three killed, the survivor says there is no quorum and that new entries will wait; they commit once a peer is back', async () => {
    const a = ui(A)
    await Promise.all([cluster.kill(B, 'SIGKILL'), cluster.kill(C, 'SIGKILL')])
    await a
      .getByTestId('quorum')
      .filter({ hasText: /waiting for quorum/ })
      .waitFor()
    await goTo(a, 'submit')
    const notice = a.getByTestId('no-quorum-notice')
    await notice.waitFor()
    assert.match((await notice.textContent()) ?? '', /No quorum: 1 of 3/)
    assert.match((await notice.textContent()) ?? '', /commit once enough machines are back/)

    const memo = `waiting ${tag()}`
    const id = await submitInUi(a, {
      from: '@bank',
      to: 'carol',
      asset: 'EUR',
      amount: '7.00',
      memo,
    })
    const item = a.locator(`li[data-entry-id="${id}"]`)
    await a.waitForTimeout(1_500)
    const waiting = await item.locator('[data-status]').getAttribute('data-status')
    assert.ok(
      waiting === 'submitted' || waiting === 'relayed',
      `an entry without quorum is ${waiting}`,
    )
    await screenshot(a, 'submit-no-quorum')
    await checkA11y(a, 'Submit without quorum')
    await goTo(a, 'peers')
    await a.getByTestId('peers-quorum').filter({ hasText: '1 of 3 online' }).waitFor()
    await screenshot(a, 'peers-no-quorum')

    await startNode(B)
    await goTo(a, 'ledger')
    await entryRow(a, id).locator('[data-status="committed"]').waitFor({ timeout: 60_000 })
    await a.getByTestId('quorum').filter({ hasText: '2 of 3 online' }).waitFor()
    await startNode(C)
    await a.getByTestId('quorum').filter({ hasText: '3 of 3 online' }).waitFor()
  })

  it("a join request appears on a member's Members screen, is approved there, and the new machine's UI shows the ledger", async () => {
    blank = Cluster.blank({ nodes: 1 })
    const ready = await blank.start(0, ['--no-mdns'])
    const d = await newPage(browser)
    tabs.push(d)
    await d.page.goto(`${ready.api}/#token=${ready.token}`)
    await d.page.getByRole('heading', { name: 'Welcome to Tally' }).waitFor()
    await d.page.getByTestId('no-ledger-found').waitFor()
    await screenshot(d.page, 'first-run')
    await checkA11y(d.page, 'the first-run screen')
    const shortId = ((await d.page.getByTestId('machine-short-id').textContent()) ?? '').trim()

    await d.page.getByLabel('Member address').fill(cluster.nodes[A]!.peerAddr)
    await d.page.getByRole('button', { name: 'Join by address' }).click()
    await d.page.getByTestId('join-status').waitFor()
    await screenshot(d.page, 'first-run-joining')
    await checkA11y(d.page, 'the first-run screen while joining')

    const a = ui(A)
    await goTo(a, 'members')
    const request = a.locator(`[data-request-id="${ready.nodeId}"]`)
    await request.waitFor()
    assert.equal(
      ((await request.getByTestId('request-short-id').textContent()) ?? '').trim(),
      shortId,
    )
    await screenshot(a, 'members-join-request')
    await checkA11y(a, 'Members with a join request')
    await request.getByRole('button', { name: 'Approve desk0' }).click()

    await waitForShell(d.page)
    const ledgerName = (await cluster.status(A)).ledgerName
    await d.page.getByRole('navigation', { name: 'Screens' }).getByText(ledgerName).waitFor()
    await goTo(d.page, 'ledger')
    await d.page.locator('tr[data-entry-id]').first().waitFor()
    await goTo(a, 'members')
    await a.locator(`tr[data-member-id="${ready.nodeId}"]`).waitFor()
  })

  it('no page threw an error', () => {
    const errors = tabs.flatMap((t, i) => t.record.errors.map((e) => `tab ${i}: ${e}`))
    assert.deepEqual(errors, [])
  })
})
