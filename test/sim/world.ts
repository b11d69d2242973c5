/**
 * A deterministic world for N replicas: a virtual clock, a seeded network that delays, loses,
 * duplicates and reorders, partitions, disks that lose unsynced writes in a crash, and clients.
 * The replicas are the real ones (`core/consensus/replica.ts` over the real ledger); only time,
 * the wire and the disk are simulated.
 */
import {
  type ConsensusMessage,
  decodeMessage,
  encodeMessage,
  type WireMessage,
} from '../../core/consensus/messages.ts'
import { Replica, type ReplicaEffect, type ReplicaTimer } from '../../core/consensus/replica.ts'
import { LAN_TIMING, type Timing } from '../../core/consensus/timing.ts'
import { MAX_ROUND } from '../../core/consensus/types.ts'
import { type Keypair, keypairFromSeed, sha256, type Verifier } from '../../core/ledger/crypto.ts'
import { blockHash } from '../../core/ledger/hashing.ts'
import { signProposal, signVote } from '../../core/ledger/signing.ts'
import type { EntryBody, FaultModel, Genesis, NodeId } from '../../core/ledger/types.ts'
import { SimDisk } from './disk.ts'
import type { Prng } from './prng.ts'
import { EventQueue } from './queue.ts'

export type SimEvent =
  | {
      readonly kind: 'deliver'
      readonly to: number
      readonly from: number
      readonly bytes: Uint8Array
    }
  | {
      readonly kind: 'timer'
      readonly node: number
      readonly epoch: number
      readonly timer: ReplicaTimer
    }
  | { readonly kind: 'disk-sync'; readonly node: number; readonly epoch: number }
  | {
      readonly kind: 'peer-lost'
      readonly node: number
      readonly epoch: number
      readonly peer: number
    }
  | { readonly kind: 'action'; readonly run: (w: World) => void }

export interface NetworkConditions {
  /** One-way delay is base + uniform jitter: jitter larger than spacing reorders messages. */
  baseMs: number
  jitterMs: number
  loss: number
  duplicate: number
}

export interface WorldObserver {
  committed(node: number, effect: Extract<ReplicaEffect, { type: 'committed' }>, at: number): void
  sent(node: number, message: WireMessage, at: number): void
  acked(node: number, id: string, at: number): void
  trace(at: number, line: string): void
}

export interface SimNode {
  readonly index: number
  readonly keypair: Keypair
  readonly disk: SimDisk
  replica: Replica | null
  /** Bumped at each crash so that timers and syncs of an earlier life are dropped. */
  epoch: number
  busyUntil: number
  /** Crashed and never coming back. */
  dead: boolean
  byzantine: boolean
  /**
   * Now and then signs votes for rounds far ahead of any the cluster reaches (2^20 up to
   * MAX_ROUND) and sends them to everyone; its replica is honest. In crash mode a single such
   * vote meets the skip share (L55).
   */
  pusher: boolean
  /** Crash in the middle of the next fsync: the moment a write-ahead bug shows. */
  crashInNextSync: boolean
}

export class World {
  readonly queue = new EventQueue<SimEvent>()
  readonly nodes: SimNode[]
  readonly genesis: Genesis
  now = 0
  net: NetworkConditions
  /** Group number of each node; nodes talk only within a group. */
  groups: number[]
  fsyncMs: [number, number]
  events = 0
  private readonly ids: Map<NodeId, number>

  /** Told of commits, sends and acknowledgements; the checker sets itself here. */
  observer: WorldObserver = {
    committed: () => {},
    sent: () => {},
    acked: () => {},
    trace: () => {},
  }

  constructor(
    readonly rng: Prng,
    readonly verifier: Verifier,
    options: { seed: number; nodes: number; faultModel: FaultModel; timing?: Timing },
  ) {
    this.timing = options.timing ?? LAN_TIMING
    this.nodes = []
    for (let i = 0; i < options.nodes; i++) {
      const keypair = keypairFromSeed(
        sha256(new TextEncoder().encode(`tally-sim/${options.seed}/${i}`)),
      )
      this.nodes.push({
        index: i,
        keypair,
        disk: new SimDisk(),
        replica: null,
        epoch: 0,
        busyUntil: 0,
        dead: false,
        byzantine: false,
        pusher: false,
        crashInNextSync: false,
      })
    }
    this.ids = new Map(this.nodes.map((n) => [n.keypair.id, n.index]))
    this.genesis = {
      name: `sim ${options.seed}`,
      time: 0,
      faultModel: options.faultModel,
      members: this.nodes.map((n) => ({ id: n.keypair.id, name: `n${n.index}` })),
      assets: [],
    }
    this.net = { baseMs: 0.3, jitterMs: 1, loss: 0, duplicate: 0 }
    this.groups = this.nodes.map(() => 0)
    this.fsyncMs = [0.1, 1]
  }

  readonly timing: Timing

  at(time: number, run: (w: World) => void): void {
    this.queue.push(time, { kind: 'action', run })
  }

  /** Off, trace lines are never even built: a trace is for replaying one seed. */
  tracing = false

  trace(line: string): void {
    if (this.tracing) this.observer.trace(this.now, line)
  }

  isUp(i: number): boolean {
    return this.nodes[i]!.replica !== null
  }

  canTalk(a: number, b: number): boolean {
    return this.groups[a] === this.groups[b]
  }

  /** Runs events until `until` (virtual ms) or until `stop` says so after an event. */
  run(until: number, stop?: () => boolean): void {
    for (;;) {
      const next = this.queue.peekTime()
      if (next === undefined || next > until) {
        this.now = Math.max(this.now, until)
        return
      }
      const { at, item } = this.queue.pop()!
      this.now = at
      this.events++
      this.dispatch(item)
      if (stop?.()) return
    }
  }

  start(i: number): void {
    const node = this.nodes[i]!
    if (node.replica !== null || node.dead) return
    node.replica = new Replica({
      keypair: node.keypair,
      genesis: this.genesis,
      timing: this.timing,
      verifier: this.verifier,
      chain: node.disk,
      recovered: node.disk.recover(),
    })
    node.busyUntil = Math.max(node.busyUntil, this.now)
    this.trace(`n${i} start at height ${node.replica.height}`)
    this.execute(node, node.replica.start(this.now), this.now)
  }

  crash(i: number, forever = false): void {
    const node = this.nodes[i]!
    if (forever) node.dead = true
    if (node.replica === null) return
    node.replica = null
    node.epoch++
    node.disk.crash()
    node.crashInNextSync = false
    this.trace(`n${i} crash${forever ? ' for good' : ''}`)
    // Its sockets close: connected peers notice within milliseconds. An unplugged cable would not
    // tell them; partitions model that.
    for (const peer of this.nodes) {
      if (peer.index !== i && peer.replica !== null && this.canTalk(i, peer.index)) {
        this.queue.push(this.now + this.rng.range(2, 20), {
          kind: 'peer-lost',
          node: peer.index,
          epoch: peer.epoch,
          peer: i,
        })
      }
    }
  }

  /** A client submits at node i; returns false if the node is down or refuses. */
  submit(i: number, body: EntryBody, nonce: number): void {
    const node = this.nodes[i]!
    if (node.replica === null) return
    const at = Math.max(this.now, node.busyUntil)
    const result = node.replica.submit(body, at, nonce)
    if (!result.ok) {
      this.trace(`n${i} refused entry: ${result.error}`)
      return
    }
    this.execute(node, result.effects, at, result.id)
  }

  /**
   * A rogue's votes for rounds other than those it is in, signed with its key, for the height it
   * is deciding. A pusher sends far-future rounds only: its replica never reaches them, so its
   * own votes never contradict them. A byzantine node also floods rounds near and behind, and
   * for made-up blocks, which the equivocation it already does allows.
   */
  pushRounds(i: number, rng: Prng): void {
    const node = this.nodes[i]!
    if (node.replica === null) return
    const height = node.replica.height + 1
    const ledger = node.replica.ledger
    const vote = (round: number, value: string | null) =>
      signVote(node.keypair, {
        ledger,
        type: rng.chance(0.5) ? 'prevote' : 'precommit',
        height,
        round,
        value,
        validator: node.keypair.id,
      })
    const votes = [vote(rng.chance(0.3) ? MAX_ROUND : rng.int(2 ** 20, MAX_ROUND), null)]
    if (node.byzantine) {
      for (let k = 0; k < 10; k++)
        votes.push(vote(rng.int(0, 5_000), rng.chance(0.5) ? null : ledger))
    }
    this.trace(`n${i} pushes ${votes.length} votes of far rounds at h${height}`)
    for (const v of votes) {
      const message: WireMessage = { type: 'vote', vote: v }
      this.observer.sent(i, message, this.now)
      const bytes = encodeMessage(message)
      for (const t of this.nodes) if (t.index !== i) this.transmit(i, t.index, bytes, this.now)
    }
  }

  private dispatch(ev: SimEvent): void {
    switch (ev.kind) {
      case 'action':
        ev.run(this)
        return
      case 'disk-sync': {
        const node = this.nodes[ev.node]!
        if (node.epoch === ev.epoch && node.replica !== null) node.disk.sync()
        return
      }
      case 'deliver': {
        const node = this.nodes[ev.to]!
        if (node.replica === null || !this.canTalk(ev.from, ev.to)) return
        if (this.deferIfBusy(node, ev)) return
        let message: WireMessage
        try {
          message = decodeMessage(ev.bytes)
        } catch (e) {
          throw new Error(`n${ev.from} sent bytes that do not decode: ${(e as Error).message}`)
        }
        const from = this.nodes[ev.from]!.keypair.id
        if (node.byzantine && message.type === 'proposal') this.forward(node, forged(message))
        this.execute(node, node.replica.receive(from, message, this.now), this.now)
        return
      }
      case 'timer': {
        const node = this.nodes[ev.node]!
        if (node.replica === null || node.epoch !== ev.epoch) return
        if (this.deferIfBusy(node, ev)) return
        this.execute(node, node.replica.fire(ev.timer, this.now), this.now)
        return
      }
      case 'peer-lost': {
        const node = this.nodes[ev.node]!
        if (node.replica === null || node.epoch !== ev.epoch) return
        if (this.deferIfBusy(node, ev)) return
        const peer = this.nodes[ev.peer]!.keypair.id
        this.execute(node, node.replica.peerLost(peer, this.now), this.now)
        return
      }
    }
  }

  /** A node does one thing at a time: an event that finds it busy waits for it. */
  private deferIfBusy(node: SimNode, ev: SimEvent): boolean {
    if (this.now >= node.busyUntil) return false
    this.queue.push(node.busyUntil, ev)
    return true
  }

  /**
   * Carries out a replica's effects in order, from time `start`. A durable write takes an fsync;
   * a crash in the middle of one loses that write and every effect after it.
   */
  private execute(
    node: SimNode,
    effects: readonly ReplicaEffect[],
    start: number,
    submitted?: string,
  ) {
    let clock = start
    const epoch = node.epoch
    for (const e of effects) {
      if (node.epoch !== epoch) return
      switch (e.type) {
        case 'persist-wal':
        case 'persist-entry': {
          node.disk.write(
            e.type === 'persist-wal'
              ? { kind: 'wal', wal: e.wal }
              : { kind: 'entry', entry: e.entry },
          )
          if (e.type === 'persist-entry' && !e.durable) break
          const fsync = this.rng.range(this.fsyncMs[0], this.fsyncMs[1])
          if (node.crashInNextSync) {
            this.crash(node.index)
            return
          }
          clock += fsync
          node.disk.sync()
          if (e.type === 'persist-entry' && e.entry.id === submitted) {
            this.observer.acked(node.index, e.entry.id, clock)
          }
          break
        }
        case 'persist-block':
          node.disk.write({ kind: 'block', block: { block: e.block, commit: e.commit } })
          this.queue.push(clock + 20, { kind: 'disk-sync', node: node.index, epoch })
          break
        case 'send':
          this.send(node, e.to, e.message, clock)
          break
        case 'schedule':
          this.queue.push(clock + e.afterMs, {
            kind: 'timer',
            node: node.index,
            epoch,
            timer: e.timer,
          })
          break
        case 'committed':
          this.trace(
            `n${node.index} commit h${e.block.header.height} r${e.block.header.round} ${e.hash.slice(0, 8)} ` +
              `entries=${e.block.entries.length} by ${this.name(e.block.header.proposer)}`,
          )
          this.observer.committed(node.index, e, clock)
          break
        case 'misbehaviour':
          this.trace(`n${node.index} misbehaviour from ${this.name(e.peer)}: ${e.reason}`)
          break
        case 'equivocation':
          this.trace(`n${node.index} saw ${this.name(e.validator)} equivocate at h${e.height}`)
          break
      }
    }
    node.busyUntil = Math.max(node.busyUntil, clock)
  }

  private send(node: SimNode, to: NodeId | null, message: WireMessage, at: number): void {
    const targets =
      to === null
        ? this.nodes.filter((n) => n.index !== node.index).map((n) => n.index)
        : [this.ids.get(to)!]
    this.observer.sent(node.index, message, at)
    if (this.tracing)
      this.trace(
        `n${node.index} send ${describe(message)} to ${to === null ? 'all' : this.name(to)}`,
      )
    const bytes = encodeMessage(message)
    let other: Uint8Array | null = null
    if (node.byzantine && to === null && this.ownMessage(node, message)) {
      const twin = equivocate(node.keypair, message)
      this.observer.sent(node.index, twin, at)
      other = encodeMessage(twin)
    }
    for (const t of targets) {
      const payload = other !== null && this.rng.chance(0.5) ? other : bytes
      this.transmit(node.index, t, payload, at)
    }
  }

  /** A byzantine relay: passes on a corrupted copy of someone else's proposal, hash unchanged. */
  private forward(node: SimNode, message: WireMessage | null): void {
    if (message === null) return
    this.trace(`n${node.index} relays a forged ${describe(message)}`)
    const bytes = encodeMessage(message)
    for (const t of this.nodes)
      if (t.index !== node.index) this.transmit(node.index, t.index, bytes, this.now)
  }

  private ownMessage(node: SimNode, m: WireMessage): m is ConsensusMessage {
    const id = node.keypair.id
    return (
      (m.type === 'vote' && m.vote.vote.validator === id) ||
      (m.type === 'proposal' && m.proposal.proposal.proposer === id)
    )
  }

  private transmit(from: number, to: number, bytes: Uint8Array, at: number): void {
    if (this.rng.chance(this.net.loss)) return
    const copies = this.rng.chance(this.net.duplicate) ? 2 : 1
    for (let c = 0; c < copies; c++) {
      const delay = this.net.baseMs + this.rng.next() * this.net.jitterMs
      this.queue.push(at + delay, { kind: 'deliver', from, to, bytes })
    }
  }

  name(id: NodeId): string {
    const i = this.ids.get(id)
    return i === undefined ? id.slice(0, 8) : `n${i}`
  }
}

/** A byzantine node's second message for the same step: nil for a value, or another block. */
function equivocate(kp: Keypair, message: ConsensusMessage): WireMessage {
  if (message.type === 'vote') {
    const v = message.vote.vote
    const value = v.value === null ? v.ledger : null // any other hash will do for a nil vote's twin
    return { type: 'vote', vote: signVote(kp, { ...v, value }) }
  }
  const sp = message.proposal
  const block = { ...sp.block, header: { ...sp.block.header, time: sp.block.header.time + 1 } }
  return {
    type: 'proposal',
    proposal: signProposal(kp, { ...sp.proposal, blockHash: blockHash(block.header) }, block),
  }
}

/** The proposal with one entry's signature (or the last commit's) flipped; null if it has neither. */
function forged(m: Extract<WireMessage, { type: 'proposal' }>): WireMessage | null {
  const block = m.proposal.block
  const flip = (sig: Uint8Array) => {
    const out = sig.slice()
    out[0]! ^= 1
    return out
  }
  if (block.entries.length > 0) {
    const [first, ...rest] = block.entries
    const entries = [{ ...first!, signature: flip(first!.signature) }, ...rest]
    return { type: 'proposal', proposal: { ...m.proposal, block: { ...block, entries } } }
  }
  const c = block.lastCommit
  if (c === null || c.signatures.length === 0) return null
  const [first, ...rest] = c.signatures
  const lastCommit = {
    ...c,
    signatures: [{ ...first!, signature: flip(first!.signature) }, ...rest],
  }
  return { type: 'proposal', proposal: { ...m.proposal, block: { ...block, lastCommit } } }
}

export function describe(m: WireMessage): string {
  switch (m.type) {
    case 'entries':
      return `entries(${m.entries.length})`
    case 'proposal': {
      const p = m.proposal.proposal
      return `proposal h${p.height} r${p.round} pol${p.polRound} ${p.blockHash.slice(0, 8)}`
    }
    case 'vote': {
      const v = m.vote.vote
      return `${v.type} h${v.height} r${v.round} ${v.value === null ? 'nil' : v.value.slice(0, 8)}`
    }
    case 'sync-request':
      return `sync-request from h${m.from}`
    case 'sync-response':
      return `sync-response ${m.blocks.length} blocks, tip h${m.tip}`
  }
}
