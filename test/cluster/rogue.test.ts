/**
 * A hostile member against a real testnet on 127.0.0.1. The ledger has four members and three of
 * them run (a crash-fault quorum is three of four, so all three must keep voting); the fourth
 * machine's key is in the rogue's hands. A node cuts a non-member's streams unread, so only a
 * member reaches the bounds under test: a rogue process (rogue-peer.ts, plain libp2p under node3's
 * key) attacks node0 in four ways; during each, the three nodes keep committing entries
 * submitted to each of them, node0 penalises the rogue for what it did, and node0's resident
 * memory stays within a bound of what it was before the attacks. What a non-member can do is in
 * nonmember.test.ts.
 *
 * node0 is restarted before each attack, so that each is measured from a level of its own
 * (memory a process has taken it rarely gives back, and one attack's would hide the next's).
 *
 * The bound: what one peer can make a node hold, attack by attack, is at most one largest frame
 * (32 MiB, the node's maxMessageBytes) on the direct protocol, one largest RPC (32 MiB + 1 MiB)
 * per gossip stream with one gossip stream per connection and two connections per peer, a 4 MiB
 * yamux frame per connection, and 32 MiB queued for it outbound. The largest of these is the
 * gossip one, 66 MiB; another 62 MiB is allowed for garbage V8 has not yet collected (the rogue
 * sends far more than is held, and what is dropped is freed only at the next collection) and for
 * memory the allocator keeps after a burst. Without the bounds each attack below makes node0
 * hold hundreds of MiB: 512 MiB of trickled frames a round, a 126 MiB RPC and its copy, answers
 * to 50,000 sync requests, a 256 MiB yamux frame.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { ApiError, Cluster, memoryOf, until } from './harness.ts'

const ROGUE = resolve(import.meta.dirname, 'rogue-peer.ts')
/** MiB node0's resident memory may grow during an attack above its level before it; see above. */
const RSS_BOUND_MIB = 128
const FINAL = new Set(['committed', 'rejected'])

interface RogueRun {
  readonly id: string
  readonly events: Record<string, unknown>[]
  readonly exited: Promise<number | null>
  kill(): void
}

async function runRogue(
  attack: string,
  victim: string,
  ledger: string,
  memberDir: string,
): Promise<RogueRun> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ROGUE, attack, victim, ledger, memberDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const events: Record<string, unknown>[] = []
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const id = await new Promise<string>((resolveId, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as Record<string, unknown>
      events.push(event)
      if (event.event === 'ready') resolveId(String(event.id))
    })
    void exited.then((code) =>
      reject(new Error(`the rogue exited with ${code} before it was ready`)),
    )
  })
  return { id, events, exited, kill: () => child.kill('SIGKILL') }
}

describe('a hostile member against a testnet of three running nodes', { timeout: 600_000 }, () => {
  const victimLog: string[] = []
  /** node3 never runs: its key is the rogue's. */
  const ROGUE_MEMBER = 3
  const c = Cluster.create({
    nodes: 4,
    env: { NODE_DEBUG: 'tally-net' },
    onLog: (i, line) => {
      if (i === 0) victimLog.push(line)
    },
  })
  let n = 0
  let ledger = ''
  const figures: string[] = []

  async function final(i: number, id: string): Promise<boolean> {
    const e = await c.entry(i, id).catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 404) return null
      throw error
    })
    return e !== null && FINAL.has(e.status)
  }

  /** Submits to each node in turn while `busy` holds, then waits for all of it to be final everywhere. */
  async function commitsThrough(busy: () => boolean): Promise<number> {
    const ids: string[] = []
    do {
      const i = n % 3
      const r = await c.submit(i, { from: '@bank', to: `acct${n % 7}`, asset: 'EUR', amount: ++n })
      ids.push(r.id)
      await new Promise((r) => setTimeout(r, 250))
    } while (busy())
    await until(
      `${ids.length} entries final on all three nodes`,
      async () => {
        for (const i of [0, 1, 2]) for (const id of ids) if (!(await final(i, id))) return undefined
        return true
      },
      90_000,
      250,
    )
    return ids.length
  }

  before(async () => {
    await Promise.all([0, 1, 2].map((i) => c.start(i)))
    ledger = (await c.status(0)).ledger
    await commitsThrough(() => false)
  })

  /**
   * node0 afresh: restarted, then a few seconds of traffic through all three nodes; its highest
   * resident memory over the next second is the level an attack is measured from.
   */
  async function freshVictim(): Promise<number> {
    await c.kill(0, 'SIGTERM')
    await c.start(0)
    const warm = Date.now() + 4000
    await commitsThrough(() => Date.now() < warm)
    const measure = Date.now() + 1000
    let level = 0
    while (Date.now() < measure) {
      level = Math.max(level, memoryOf(c.ready(0).pid).rssMiB)
      await new Promise((r) => setTimeout(r, 20))
    }
    return level
  }

  after(async () => {
    for (const line of figures) console.log(`rogue: ${line}`)
    await c.destroy()
  })

  /**
   * Runs one attack on node0 while entries are submitted to all three; returns the rogue's id,
   * node0's peak resident memory during it, and how many entries committed meanwhile.
   */
  async function attack(name: string): Promise<{ id: string; peakMiB: number; logFrom: number }> {
    const levelMiB = await freshVictim()
    const pid = c.ready(0).pid
    const victim = c.ready(0).addrs.find((a) => a.includes('/ip4/127.0.0.1/'))!
    const logFrom = victimLog.length
    const rogue = await runRogue(name, victim, ledger, c.nodes[ROGUE_MEMBER]!.dir)
    assert.equal(rogue.id, c.nodes[ROGUE_MEMBER]!.id, 'the rogue does not hold the member key')
    let peakMiB = 0
    let attacking = true
    const sampler = (async () => {
      while (attacking) {
        peakMiB = Math.max(peakMiB, memoryOf(pid).rssMiB)
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    let committed = 0
    let code: number | null = null
    try {
      const done = rogue.exited.then((exit) => {
        code = exit
      })
      let over = false
      void done.finally(() => {
        over = true
      })
      committed = await commitsThrough(() => !over)
      await done
    } finally {
      rogue.kill()
      attacking = false
      await sampler
    }
    assert.equal(code, 0, `the rogue failed: ${JSON.stringify(rogue.events.at(-1))}`)
    const rounds = rogue.events.filter((e) => e.event === 'round').length
    figures.push(
      `${name}: node0 resident ${levelMiB.toFixed(0)} MiB before, peak ${peakMiB.toFixed(0)} MiB ` +
        `during (+${(peakMiB - levelMiB).toFixed(0)} MiB, bound +${RSS_BOUND_MIB}); ` +
        `${rounds} rounds before the rogue was refused; ${committed} entries committed meanwhile`,
    )
    assert.ok(rounds > 0, 'the rogue never got to attack')
    assert.ok(
      peakMiB <= levelMiB + RSS_BOUND_MIB,
      `node0 reached ${peakMiB.toFixed(0)} MiB under ${name}, over ${levelMiB.toFixed(0)} + ${RSS_BOUND_MIB}`,
    )
    return { id: rogue.id, peakMiB, logFrom }
  }

  /**
   * node0 wrote, during this attack, that it penalised the rogue for `reason` and that it cut the
   * rogue off. Every attack is by the same member key, so earlier attacks' lines do not count.
   */
  function assertPenalised({ id, logFrom }: { id: string; logFrom: number }, reason: RegExp): void {
    const mine = victimLog.slice(logFrom).filter((l) => l.includes(` ${id.slice(0, 8)}: `))
    assert.ok(
      mine.some((l) => /penalise/.test(l) && reason.test(l)),
      `node0 never penalised ${id.slice(0, 8)} for ${reason}:\n${mine.slice(-10).join('\n')}`,
    )
    assert.ok(
      mine.some((l) => /disconnect .*repeated offences/.test(l)),
      `node0 never banned ${id.slice(0, 8)}:\n${mine.slice(-10).join('\n')}`,
    )
  }

  it('many direct streams announcing huge frames and trickling them: held to one frame, banned', async () => {
    assertPenalised(
      await attack('direct-trickle'),
      /direct: (frame of \d+ bytes exceeds|more than \d+ bytes of unfinished)/,
    )
  })

  it('gossip RPCs far over the message bound: refused at the length prefix, banned', async () => {
    assertPenalised(await attack('gossip-oversize'), /gossip: an RPC over the bound/)
  })

  it('a flood of sync requests: cut off past the frame rate, banned', async () => {
    assertPenalised(await attack('sync-flood'), /direct: over \d+ frames a second/)
  })

  it('a yamux frame announcing gigabytes: the connection closes at its header, banned', async () => {
    assertPenalised(
      await attack('muxer-oversize'),
      /yamux: a yamux data frame of \d+ bytes exceeds/,
    )
  })
})
