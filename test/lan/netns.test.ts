/**
 * The namespace LAN harness itself: multicast and TCP cross the bridge, an unplugged host is cut
 * off the way a pulled cable cuts it off, and nothing outlives the test or touches the root
 * namespace. Stand-in hosts are agent.ts processes; the LAN test proper runs libp2p instead.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import type { AgentEvent, Command } from './agent.ts'
import { isAlive as alive, Lan, type LanHost } from './netns.ts'

const execFileAsync = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '../..')
const AGENT = resolve(import.meta.dirname, 'agent.ts')
const CRASHER = resolve(import.meta.dirname, 'crasher.ts')
const TCP_PORT = 7000
/** Long enough for a datagram across a local bridge many times over. */
const QUIET_MS = 500

/** A Command without its id, which `Agent.request` assigns. */
type Body = { [K in Command['op']]: Omit<Extract<Command, { op: K }>, 'id'> }[Command['op']]

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function sh(cmd: string, args: readonly string[]): Promise<string> {
  return (await execFileAsync(cmd, args)).stdout
}

/** What the root namespace shows; a Lan must leave it exactly as it was. */
async function rootView(): Promise<string> {
  const parts = await Promise.all([
    sh('ip', ['-o', 'link']),
    sh('ip', ['-o', 'addr']),
    sh('ip', ['route', 'show', 'table', 'all']),
    sh('ip', ['-6', 'route', 'show', 'table', 'all']),
  ])
  return parts.join('\n--\n')
}

async function namespacesStartingWith(start: string): Promise<string[]> {
  return (await sh('ip', ['netns', 'list']))
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(start))
    .sort()
}

/** One agent.ts process in one host's namespace, with every event it printed. */
class Agent {
  readonly events: AgentEvent[] = []
  readonly #waiters = new Set<() => void>()
  #nextId = 0
  stderr = ''

  constructor(
    readonly host: LanHost,
    readonly child: ChildProcess,
  ) {
    if (!child.stdout || !child.stderr) throw new Error('agent needs piped stdio')
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.events.push(JSON.parse(line) as AgentEvent)
      for (const w of this.#waiters) w()
    })
    child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString()
    })
  }

  static start(lan: Lan, host: LanHost): Agent {
    const child = lan.spawn(
      host,
      process.execPath,
      ['--import', 'tsx', AGENT, host.ip, String(TCP_PORT)],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    )
    return new Agent(host, child)
  }

  waitFor<E extends AgentEvent>(
    pred: (e: AgentEvent) => e is E,
    timeoutMs: number,
    what: string,
  ): Promise<E> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.find(pred)
        if (!hit) return false
        clearTimeout(timer)
        this.#waiters.delete(onEvent)
        resolve(hit)
        return true
      }
      const onEvent = () => void check()
      const timer = setTimeout(() => {
        this.#waiters.delete(onEvent)
        reject(
          new Error(
            `host ${this.host.index}: no ${what} in ${timeoutMs} ms; stderr: ${this.stderr}`,
          ),
        )
      }, timeoutMs)
      if (!check()) this.#waiters.add(onEvent)
    })
  }

  async request(cmd: Body, timeoutMs = 5000) {
    const id = this.#nextId++
    this.child.stdin?.write(`${JSON.stringify({ ...cmd, id })}\n`)
    return this.waitFor(
      (e): e is Extract<AgentEvent, { ev: 'reply' }> => e.ev === 'reply' && e.id === id,
      timeoutMs,
      `reply to ${cmd.op}`,
    )
  }

  mcast(text: string) {
    return this.request({ op: 'mcast', text })
  }

  connect(host: LanHost, timeoutMs: number) {
    return this.request(
      { op: 'connect', host: host.ip, port: TCP_PORT, timeoutMs },
      timeoutMs + 5000,
    )
  }

  write(conn: number, text: string) {
    return this.request({ op: 'write', conn, text })
  }

  hasMcast(from: string, text: string): boolean {
    return this.events.some((e) => e.ev === 'mcast' && e.from === from && e.text === text)
  }

  waitMcast(from: string, text: string, timeoutMs = 3000) {
    return this.waitFor(
      (e): e is Extract<AgentEvent, { ev: 'mcast' }> =>
        e.ev === 'mcast' && e.from === from && e.text === text,
      timeoutMs,
      `multicast "${text}" from ${from}`,
    )
  }

  waitTcp(from: string, text: string, timeoutMs = 3000) {
    return this.waitFor(
      (e): e is Extract<AgentEvent, { ev: 'tcp' }> =>
        e.ev === 'tcp' && e.from === from && e.text.includes(text),
      timeoutMs,
      `TCP data "${text}" from ${from}`,
    )
  }
}

const reason = await Lan.unavailable()

describe('Lan (network namespaces)', { skip: reason ?? false }, () => {
  const PREFIX = 'tlyt'
  let lan: Lan
  let agents: Agent[] = []
  let rootBefore = ''
  const ownTag = `${PREFIX}-${process.pid.toString(36)}-`

  before(async () => {
    rootBefore = await rootView()
    const t0 = performance.now()
    lan = await Lan.create({ hosts: 3, prefix: PREFIX })
    console.log(`# create(3 hosts): ${(performance.now() - t0).toFixed(0)} ms`)
    const t1 = performance.now()
    agents = lan.hosts.map((h) => Agent.start(lan, h))
    await Promise.all(
      agents.map((a) => a.waitFor((e): e is AgentEvent => e.ev === 'ready', 15_000, 'ready')),
    )
    console.log(`# 3 agents ready: ${(performance.now() - t1).toFixed(0)} ms`)
  })

  after(() => lan?.destroy())

  it('adds nothing to the root namespace', async () => {
    assert.equal(await rootView(), rootBefore)
    const names = lan.hosts.flatMap((h) => [h.veth, h.iface]).concat(lan.bridge)
    const rootLinks = await sh('ip', ['-o', 'link'])
    for (const n of names) assert.ok(!rootLinks.includes(n), `${n} is in the root namespace`)
  })

  it('gives each host lo, its address and the multicast route', async () => {
    assert.deepEqual(
      await namespacesStartingWith(ownTag),
      [...lan.hosts.map((h) => h.ns), lan.bridgeNs].sort(),
    )
    for (const h of lan.hosts) {
      assert.match(await sh('ip', ['-n', h.ns, '-o', 'link', 'show', 'lo']), /[<,]UP[,>]/)
      assert.match(
        await sh('ip', ['-n', h.ns, '-o', 'addr', 'show', h.iface]),
        new RegExp(`inet ${h.ip}/24`),
      )
      assert.match(
        await sh('ip', ['-n', h.ns, 'route', 'show', '224.0.0.0/4']),
        new RegExp(`dev ${h.iface}`),
      )
      assert.doesNotMatch(await sh('ip', ['-n', h.ns, 'route']), /default/)
    }
  })

  it('carries mDNS multicast from host 0 to hosts 1 and 2', async () => {
    const [a0, a1, a2] = agents as [Agent, Agent, Agent]
    assert.ok((await a0.mcast('hello-all')).ok)
    await Promise.all([
      a1.waitMcast(a0.host.ip, 'hello-all'),
      a2.waitMcast(a0.host.ip, 'hello-all'),
    ])
  })

  it('carries TCP from host 1 to host 0', async () => {
    const [a0, a1] = agents as [Agent, Agent]
    const r = await a1.connect(a0.host, 3000)
    assert.ok(r.ok, `connect failed: ${JSON.stringify(r)}`)
    assert.ok(r.conn !== undefined)
    await a1.write(r.conn, 'tcp-1-to-0')
    await a0.waitTcp(a1.host.ip, 'tcp-1-to-0')
  })

  let held = -1 // host 2's connection to host 0, kept open across the unplug

  it('cuts host 2 off when unplugged, like a pulled cable', async () => {
    const [a0, a1, a2] = agents as [Agent, Agent, Agent]
    const open = await a2.connect(a0.host, 3000)
    assert.ok(open.ok && open.conn !== undefined, `connect failed: ${JSON.stringify(open)}`)
    held = open.conn
    await a2.write(held, 'before-unplug')
    await a0.waitTcp(a2.host.ip, 'before-unplug')

    await lan.unplug(lan.hosts[2]!)

    // The host still believes in its interface: carrier gone, address and routes kept.
    const link = await sh('ip', ['-n', a2.host.ns, '-o', 'link', 'show', a2.host.iface])
    assert.match(link, /NO-CARRIER/)
    assert.match(await sh('ip', ['-n', a2.host.ns, 'route', 'show', '224.0.0.0/4']), /linkdown/)

    await a0.mcast('while-unplugged')
    await a1.waitMcast(a0.host.ip, 'while-unplugged')
    await sleep(QUIET_MS)
    assert.ok(!a2.hasMcast(a0.host.ip, 'while-unplugged'), 'unplugged host 2 got multicast')

    // Sending into a dead cable fails silently, as on real hardware; mDNS logs no errors.
    const sent = await a2.mcast('from-unplugged')
    assert.ok(sent.ok, `multicast send from unplugged host failed: ${JSON.stringify(sent)}`)
    await sleep(QUIET_MS)
    assert.ok(!a0.hasMcast(a2.host.ip, 'from-unplugged'))
    assert.ok(!a1.hasMcast(a2.host.ip, 'from-unplugged'))

    // Given longer, a fresh connect fails with EHOSTUNREACH once ARP gives up (about 3 s).
    const t0 = performance.now()
    const [in2, out2] = await Promise.all([a1.connect(a2.host, 2000), a2.connect(a0.host, 2000)])
    console.log(
      `# connects across the unplugged cable: 1->2 ${JSON.stringify(in2)}, 2->0 ${JSON.stringify(out2)}, ` +
        `${(performance.now() - t0).toFixed(0)} ms`,
    )
    assert.ok(!in2.ok, 'host 1 reached unplugged host 2 over TCP')
    assert.ok(!out2.ok, 'unplugged host 2 reached host 0 over TCP')

    // The open connection: a write is accepted, nothing arrives, and neither side hears of it.
    const w = await a2.write(held, 'during-unplug')
    assert.ok(w.ok, `write during unplug failed: ${JSON.stringify(w)}`)
    await sleep(1500)
    assert.ok(!a0.events.some((e) => e.ev === 'tcp' && e.text.includes('during-unplug')))
    const trouble = a2.events.filter(
      (e) => (e.ev === 'connError' || e.ev === 'connClose') && e.conn === held,
    )
    assert.deepEqual(trouble, [], 'the held connection saw an error while unplugged')
  })

  it('reconnects host 2 when plugged back in', async () => {
    const [a0, a1, a2] = agents as [Agent, Agent, Agent]
    const t0 = performance.now()
    await lan.plug(lan.hosts[2]!)
    assert.match(
      await sh('ip', ['-n', a2.host.ns, 'route', 'show', '224.0.0.0/4']),
      new RegExp(`^224\\.0\\.0\\.0/4 dev ${a2.host.iface} scope link\\s*$`),
    )

    // TCP retransmits what was written during the outage on its own backoff schedule.
    await a0.waitTcp(a2.host.ip, 'during-unplug', 15_000)
    console.log(
      `# data written during the unplug arrived ${(performance.now() - t0).toFixed(0)} ms after plug`,
    )
    assert.deepEqual(
      a2.events.filter((e) => (e.ev === 'connError' || e.ev === 'connClose') && e.conn === held),
      [],
    )

    await a0.mcast('after-plug')
    await a2.waitMcast(a0.host.ip, 'after-plug')
    await a2.mcast('from-replugged')
    await a1.waitMcast(a2.host.ip, 'from-replugged')

    const r = await a1.connect(a2.host, 3000)
    assert.ok(r.ok && r.conn !== undefined, `connect 1->2 after plug failed: ${JSON.stringify(r)}`)
    await a1.write(r.conn, 'tcp-1-to-2')
    await a2.waitTcp(a1.host.ip, 'tcp-1-to-2')
  })

  it('destroys everything, once or twice', async () => {
    const pids = agents.map((a) => a.child.pid).filter((p): p is number => p !== undefined)
    const t0 = performance.now()
    await lan.destroy()
    console.log(`# destroy(3 hosts, 3 agents): ${(performance.now() - t0).toFixed(0)} ms`)
    await lan.destroy()
    for (const pid of pids) assert.ok(!alive(pid), `agent ${pid} survived destroy`)
    assert.deepEqual(await namespacesStartingWith(ownTag), [])
    assert.ok(!(await sh('ip', ['-o', 'link'])).includes(`${PREFIX}-`))
    assert.equal(await rootView(), rootBefore)
    assert.throws(() => lan.spawn(0, 'true'), /destroyed/)
  })
})

describe('Lan cleanup after a crash', { skip: reason ?? false }, () => {
  const PREFIX = 'tlyc'

  /** Runs crasher.ts until it has made its Lan; returns what it made. */
  async function crash(mode: 'exit' | 'throw' | 'wait') {
    const child = spawn(process.execPath, ['--import', 'tsx', CRASHER, PREFIX, mode], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exit = new Promise<void>((r) => child.once('exit', () => r()))
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve)
      child.once('exit', (code) => reject(new Error(`crasher exited ${code} early: ${stderr}`)))
    })
    const made = JSON.parse(line) as { namespaces: string[]; sleeper: number }
    return { child, exit, made }
  }

  async function assertGone(made: { namespaces: string[]; sleeper: number }) {
    const left = await namespacesStartingWith(`${PREFIX}-`)
    for (const ns of made.namespaces) assert.ok(!left.includes(ns), `${ns} left behind`)
    assert.ok(!alive(made.sleeper), 'the sleep spawned in the namespace survived')
  }

  for (const mode of ['exit', 'throw'] as const) {
    it(`cleans up when the test process ${mode === 'exit' ? 'calls process.exit' : 'throws'}`, async () => {
      const { exit, made } = await crash(mode)
      await exit
      await assertGone(made)
    })
  }

  it('cleans up on SIGTERM', async () => {
    const { child, exit, made } = await crash('wait')
    child.kill('SIGTERM')
    await exit
    assert.equal(child.signalCode, 'SIGTERM', 'the signal was swallowed, not re-raised')
    await assertGone(made)
  })

  it('leaves SIGKILLed runs to sweepStale', async () => {
    const { child, exit, made } = await crash('wait')
    child.kill('SIGKILL')
    await exit
    assert.ok(alive(made.sleeper), 'nothing could have killed the sleep yet')
    const removed = await Lan.sweepStale(PREFIX)
    assert.deepEqual([...removed].sort(), [...made.namespaces].sort())
    await assertGone(made)
  })
})
