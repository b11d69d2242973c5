/** Fixtures for the net tests: real libp2p nodes on 127.0.0.1, recorders for what they deliver. */
import type { NetConfig, NetHandlers, Topic } from '../../../core/net/index.ts'
import { Net } from '../../../core/net/index.ts'

export const LEDGER = '7a'.repeat(32)

export function seed(n: number): Uint8Array {
  return new Uint8Array(32).fill(n)
}

export interface Gossip {
  readonly topic: Topic
  readonly data: Uint8Array
  readonly from: string
}

/** Records everything a Net hands to the node. */
export class Recorder implements NetHandlers {
  readonly gossip: Gossip[] = []
  readonly direct: { data: Uint8Array; from: string }[] = []
  readonly peers: { id: string; connected: boolean; at: number }[] = []

  onGossip(topic: Topic, data: Uint8Array, from: string): void {
    this.gossip.push({ topic, data, from })
  }

  onDirect(data: Uint8Array, from: string): void {
    this.direct.push({ data, from })
  }

  onPeer(id: string, connected: boolean): void {
    this.peers.push({ id, connected, at: Date.now() })
  }

  onAddrs(): void {}

  lastPeerEvent(id: string): boolean | undefined {
    return this.peers.findLast((e) => e.id === id)?.connected
  }

  gossipWith(prefix: string): Gossip[] {
    const tag = new TextEncoder().encode(prefix)
    return this.gossip.filter((g) => tag.every((b, i) => g.data[i] === b))
  }
}

export interface Started {
  readonly net: Net
  readonly rec: Recorder
  readonly seed: Uint8Array
}

export const running = new Set<Net>()

export async function start(
  n: number,
  overrides: Partial<NetConfig> = {},
  rec: Recorder = new Recorder(),
): Promise<Started> {
  const config: NetConfig = {
    seed: seed(n),
    ledger: LEDGER,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    peers: [],
    mdns: false,
    pingIntervalMs: 2000,
    pingTimeoutMs: 2000,
    maxMessageBytes: 2 * 1024 * 1024,
    validate: () => 'accept',
    isMember: () => true,
    ...overrides,
  }
  const net = await Net.start(config, rec)
  running.add(net)
  return { net, rec, seed: config.seed }
}

export async function stop(net: Net): Promise<void> {
  running.delete(net)
  await net.stop()
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(stop))
}

export async function until(what: string, pred: () => boolean, timeoutMs = 5000): Promise<number> {
  const start = Date.now()
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await sleep(5)
  }
  return Date.now() - start
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export function bytes(text: string, size = text.length): Uint8Array {
  const out = new Uint8Array(size)
  out.set(new TextEncoder().encode(text).subarray(0, size))
  return out
}

/**
 * Gossip flows once peers have exchanged subscriptions. Each node publishes distinct warm-up
 * messages until every other node has received one from it.
 */
export async function gossipReady(nodes: readonly Started[]): Promise<void> {
  let round = 0
  const heard = (to: Started, from: Started) =>
    to.rec.gossipWith('warmup/').some((g) => g.from === from.net.id)
  const ready = () => nodes.every((a) => nodes.every((b) => a === b || heard(b, a)))
  const deadline = Date.now() + 5000
  while (!ready()) {
    if (Date.now() > deadline) throw new Error('gossip did not start flowing within 5 s')
    round++
    for (const node of nodes)
      await node.net.publish('entries', bytes(`warmup/${node.net.id}/${round}`))
    await sleep(50)
  }
}
