/**
 * `tally demo`: three nodes whose UI addresses it prints, a node that dies by itself reported,
 * no node left behind when the demo is stopped; and a node stopped and started from the demo
 * keeps its address and token, so the browser tab that showed it reconnects by itself.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import type { StatusView } from '../../core/api/types.ts'
import { Demo, prepareDemoDir, stopLeftovers, uiAddress } from '../../core/cli/demo-command.ts'
import { API_FILE } from '../../core/cli/node-command.ts'
import { trackNode } from '../cluster/harness.ts'
import { launchBrowser, newPage, until, waitForShell } from './harness.ts'

const BIN = resolve(import.meta.dirname, '../../bin/tally.js')

/** A random block of ports above the cluster harness's and Linux's ephemeral ones (to 60999). */
function basePort(): number {
  return 61_000 + Math.floor(Math.random() * 40) * 100
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function status(ui: string): Promise<StatusView> {
  const url = new URL(ui)
  const token = new URLSearchParams(url.hash.slice(1)).get('token')!
  const res = await fetch(`${url.origin}/api/status`, {
    headers: { authorization: `Bearer ${token}` },
  })
  assert.equal(res.status, 200)
  return (await res.json()) as StatusView
}

/** Whether a child process has not exited yet. */
function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/**
 * Stops a `tally demo` process the way that lets it stop its own nodes: SIGTERM, and SIGKILL
 * only if it has not exited after 10 s (a SIGKILLed demo leaves its nodes running).
 */
async function stopDemo(demo: ChildProcess): Promise<void> {
  if (!running(demo)) return
  const exited = new Promise<void>((r) => demo.once('exit', () => r()))
  demo.kill('SIGTERM')
  const timer = setTimeout(() => demo.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

describe('tally demo', () => {
  /** The demo folders the tests made, each in a temporary folder of its own. */
  const dirs: string[] = []
  let child: ChildProcess | null = null
  const demoDir = () => {
    const d = join(mkdtempSync(join(tmpdir(), 'tally-demo-test-')), 'demo')
    dirs.push(d)
    return d
  }
  // If this process ends with the demo still running, it is told to stop its nodes.
  const stopChild = () => {
    if (child !== null && running(child)) child.kill('SIGTERM')
  }
  process.on('exit', stopChild)

  after(async () => {
    if (child !== null) await stopDemo(child)
    process.off('exit', stopChild)
    for (const d of dirs) {
      // Nodes a demo left (one killed after all) would run on in a deleted folder.
      stopLeftovers(d)
      rmSync(dirname(d), { recursive: true, force: true })
    }
  })

  it('without a terminal it prints three UI addresses that serve the app and a growing ledger, reports a node that dies, and SIGINT leaves no node running', async () => {
    const dir = demoDir()
    const demo = spawn(
      process.execPath,
      [BIN, 'demo', '--dir', dir, '--base-port', String(basePort())],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    child = demo
    const out: string[] = []
    const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)))
    createInterface({ input: demo.stdout! }).on('line', (l) => out.push(l))
    createInterface({ input: demo.stderr! }).on('line', (l) => out.push(`stderr: ${l}`))
    const uis = await until(
      'three ui addresses',
      () => {
        const found = out
          .map((l) =>
            /^ {2}\[(\d)\] (node\d) {2}ui: (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)$/.exec(l),
          )
          .filter((m) => m !== null)
        return found.length === 3 ? found.map((m) => ({ name: m[2]!, ui: m[3]! })) : undefined
      },
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${out.join('\n')}`)
    })
    assert.deepEqual(
      uis.map((u) => u.name),
      ['node0', 'node1', 'node2'],
    )
    assert.ok(
      out.some((l) => l.includes('need a terminal')),
      'says that keys need a terminal',
    )

    for (const { ui } of uis) {
      const res = await fetch(`${new URL(ui).origin}/`)
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', /text\/html/)
      assert.match(await res.text(), /<div id="app"><\/div>/)
    }
    const before = await Promise.all(uis.map((u) => status(u.ui)))
    assert.deepEqual(
      before.map((s) => s.ledgerName),
      ['demo', 'demo', 'demo'],
    )
    // An entry makes a block now rather than at the next empty one.
    const first = new URL(uis[0]!.ui)
    const posted = await fetch(`${first.origin}/api/entries`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${new URLSearchParams(first.hash.slice(1)).get('token')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ from: '@bank', to: 'dave', asset: 'EUR', amount: 1, memo: 'e2e' }),
    })
    assert.equal(posted.status, 202)
    await until(
      'every node at a greater height',
      async () => {
        const now = await Promise.all(uis.map((u) => status(u.ui)))
        return now.every((s, i) => s.height > before[i]!.height) ? true : undefined
      },
      60_000,
      500,
    )

    const pids = [0, 1, 2].map(
      (i) =>
        (JSON.parse(readFileSync(join(dir, `node${i}`, API_FILE), 'utf8')) as { pid: number }).pid,
    )
    assert.ok(pids.every(alive))
    process.kill(pids[1]!, 'SIGKILL')
    await until('the demo reports node1 gone', () =>
      out.some((l) => l === 'node1 exited (SIGKILL); press 2 to start it') ? true : undefined,
    )

    demo.kill('SIGINT')
    assert.equal(await exited, 0, out.join('\n'))
    child = null
    assert.deepEqual(pids.filter(alive), [], 'a node process outlived the demo')
    assert.ok(out.includes('The demo nodes are stopped.'))
  })

  it('a node stopped and started again keeps its address and token, and its open tab reconnects by itself', async () => {
    const dir = demoDir()
    prepareDemoDir(dir, false, basePort())
    const said: string[] = []
    // Its nodes are the harness's too: its exit and signal handlers kill them.
    const demo = new Demo(dir, (l) => said.push(l), trackNode)
    const browser = await launchBrowser()
    try {
      await Promise.all(demo.nodes.map((_, i) => demo.start(i)))
      const address = uiAddress(demo.nodes[1]!)!
      const { page } = await newPage(browser)
      await page.goto(address)
      await waitForShell(page)

      await demo.toggle(1, 'SIGTERM')
      assert.equal(demo.nodes[1]!.state, 'stopped')
      await page.getByRole('alert').filter({ hasText: 'not answering' }).waitFor()

      await demo.toggle(1, 'SIGTERM')
      assert.equal(demo.nodes[1]!.state, 'running')
      assert.equal(uiAddress(demo.nodes[1]!), address, 'the restarted node has another address')
      await page
        .getByRole('alert')
        .filter({ hasText: 'not answering' })
        .waitFor({ state: 'detached', timeout: 20_000 })
      await waitForShell(page)
      assert.deepEqual(
        said.filter((l) => l.includes('could not start')),
        [],
      )
      const lines = await demo.report()
      assert.equal(lines.length, 3)
      for (const l of lines) assert.match(l, /running +height \d+/)
    } finally {
      await browser.close()
      await demo.close()
    }
    assert.ok(demo.nodes.every((n) => n.state === 'stopped'))
  })
})
