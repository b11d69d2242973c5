/**
 * A running node: the replica (ledger, mempool, consensus, block sync) driven by real time,
 * persisted in SQLite and connected by libp2p. This is the one place that carries the replica's
 * effects out, in the order it gives them: a write the replica marks durable is on disk before
 * any later effect happens, which is what keeps a restarted node from contradicting its own
 * votes and a submitter from being told "accepted" about an entry a crash could lose.
 */
import { join } from 'node:path'
import {
  decodeMessage,
  encodeMessage,
  type SyncedBlock,
  type WireMessage,
} from '../consensus/messages.ts'
import { proposerFor } from '../consensus/proposer.ts'
import { Replica, type ReplicaEffect, type ReplicaTimer } from '../consensus/replica.ts'
import type { Step } from '../consensus/types.ts'
import { decodeWal } from '../consensus/wal-codec.ts'
import { keypairFromSeed, Verifier } from '../ledger/crypto.ts'
import { decodeGenesis } from '../ledger/encoding.ts'
import { LIMITS } from '../ledger/limits.ts'
import { minimumExceeding, thresholdsFor, totalWeight } from '../ledger/quorum.ts'
import { entryBodyError } from '../ledger/rules.ts'
import type { LedgerState } from '../ledger/state.ts'
import type {
  Block,
  Commit,
  EntryBody,
  EntryOutcome,
  EntryStatus,
  Genesis,
  Hash,
  NodeId,
  SignedEntry,
} from '../ledger/types.ts'
import { Net, type PeerHealth, type Topic } from '../net/host.ts'
import { peerIdFromNodeId } from '../net/keys.ts'
import { RateLimiter } from '../net/rate-limit.ts'
import { openVoteLog } from '../store/open-votes.ts'
import { type EntryQuery, type EntryRecord, Store } from '../store/store.ts'
import type { VoteLog } from '../store/vote-log.ts'
import { Activity } from './activity.ts'
import { batchedDisk, EffectExecutor, type EffectOutlets } from './effects.ts'
import { type GossipContext, judgeGossip, judgeMessage, topicOf } from './gossip.ts'
import { RoundLog, type RoundRecord } from './rounds.ts'
import { type NodeSettings, readSettings } from './settings.ts'
import { WriteBatch } from './write-batch.ts'

export const DB_FILE = 'tally.db'

const MIB = 1024 * 1024
/** Charged up front for a sync request; the answer's size is charged once it is made. */
const SYNC_REQUEST_COST = 64 * 1024

export interface NodeOptions {
  readonly dataDir: string
  /** Replace the stored listen addresses. */
  readonly listen?: readonly string[]
  /** Static peers in addition to the stored ones. */
  readonly peers?: readonly string[]
  readonly mdns?: boolean
  /** Called when the node cannot go on (its disk failed): it has stopped itself. */
  readonly onFatal?: (error: Error) => void
}

/** An entry as the node knows it now, without the arrival number only the disk gives it. */
export type NodeEntry = Omit<EntryRecord, 'seq'>

export interface NodeStatus {
  readonly nodeId: NodeId
  readonly name: string
  readonly ledger: Hash
  readonly ledgerName: string
  readonly faultModel: Genesis['faultModel']
  readonly height: number
  readonly round: number
  readonly step: Step
  readonly members: number
  readonly online: number
  readonly quorum: number
  readonly hasQuorum: boolean
  readonly stateHash: Hash
  readonly pending: number
  readonly lastBlockTime: number | null
}

export interface PeerInfo extends Omit<PeerHealth, 'score'> {
  readonly score: number | null
  readonly name: string
  readonly self: boolean
  readonly member: boolean
  readonly height: number | null
  readonly votedShare: number | null
}

export interface VoteInfo {
  readonly validator: NodeId
  readonly prevote: Hash | null | undefined
  readonly precommit: Hash | null | undefined
}

export interface RoundsInfo {
  readonly height: number
  readonly round: number
  readonly step: Step
  readonly proposer: NodeId
  /** Per validator, what it voted in the current round: a block hash, null for nil, undefined for nothing yet. */
  readonly votes: readonly VoteInfo[]
  readonly recent: readonly RoundRecord[]
}

export type NodeEventData =
  | { readonly type: 'entry'; readonly entry: NodeEntry }
  | {
      readonly type: 'block'
      readonly block: Block
      readonly hash: Hash
      readonly round: number
    }
  | {
      readonly type: 'round'
      readonly height: number
      readonly round: number
      readonly step: Step
      readonly proposer: NodeId
    }
  | { readonly type: 'peer'; readonly id: NodeId }

/** A submission the ledger refuses; nothing was stored. */
export class SubmitError extends Error {}

interface QueuedSubmit {
  readonly body: EntryBody
  readonly resolve: (r: { id: Hash; status: EntryStatus }) => void
  readonly reject: (e: Error) => void
}

export class TallyNode {
  readonly id: NodeId
  readonly genesis: Genesis
  readonly settings: NodeSettings
  readonly store: Store
  readonly #votes: VoteLog
  readonly #replica: Replica
  readonly #verifier: Verifier
  readonly #writes: WriteBatch
  readonly #effects: EffectExecutor
  readonly #activity = new Activity()
  readonly #rounds: RoundLog
  readonly #listeners = new Set<(e: NodeEventData) => void>()
  readonly #timers = new Set<NodeJS.Timeout>()
  /** Entries submitted here that no peer is known to have yet. */
  readonly #unrelayed = new Set<Hash>()
  /** Block sync served per peer, in bytes: a request costs little to send and much to answer. */
  readonly #serving = new RateLimiter({ ratePerSecond: 4 * MIB, burst: 8 * MIB, maxKeys: 1024 })
  /** Members whose connection closed and has not reopened (not those never met since start). */
  readonly #lost = new Set<NodeId>()
  /** When each waiting entry reached this node, for its events. */
  readonly #received = new Map<Hash, number>()
  #net: Net | null = null
  #submits: QueuedSubmit[] = []
  #submitScheduled = false
  #nonce: number
  #stopped = false
  #syncing = false
  #lastRound = { height: 0, round: -1, step: 'idle' as Step }
  readonly #onFatal: (error: Error) => void

  private constructor(store: Store, votes: VoteLog, opts: NodeOptions) {
    this.store = store
    this.#votes = votes
    this.#onFatal = opts.onFatal ?? (() => {})
    const seed = store.getMeta('node-seed')
    const genesisBytes = store.getMeta('genesis')
    if (seed === null || genesisBytes === null) {
      throw new Error(
        `${store.file} holds no node key or no genesis: create the node with \`tally testnet\` first`,
      )
    }
    this.genesis = decodeGenesis(genesisBytes)
    this.settings = readSettings(store.settings())
    const keypair = keypairFromSeed(seed)
    this.id = keypair.id
    this.#verifier = new Verifier()
    this.#writes = new WriteBatch(store, (error) => this.#fail(error))
    this.#effects = new EffectExecutor(
      batchedDisk(votes, this.#writes, store, Date.now),
      this.#outlets(),
    )
    // Data folders from before the record moved out of the database keep it under meta 'wal'.
    const logged = votes.read()
    const walBytes = logged ?? store.getMeta('wal')
    let wal = null
    if (walBytes !== null) {
      try {
        wal = decodeWal(walBytes)
      } catch (error) {
        throw new Error(
          `the consensus write-ahead record in ${logged === null ? store.file : votes.files.join(' / ')} does not decode (${(error as Error).message}); the node will not vote without it`,
        )
      }
    }
    const pending = store.pendingEntries()
    const blocks: SyncedBlock[] = []
    for (let h = 1; h <= store.height(); h++) {
      const b = store.block(h)
      if (b === null) throw new Error(`${store.file} lacks block ${h} below its height`)
      blocks.push(b)
    }
    this.#replica = new Replica({
      keypair,
      genesis: this.genesis,
      timing: this.settings.timing,
      verifier: this.#verifier,
      // The newest block may still wait in the write batch: commit it rather than answer nothing.
      chain: {
        block: (h) => {
          const b = store.block(h)
          if (b !== null || h > this.#replica.height) return b
          this.#writes.flush()
          return store.block(h)
        },
      },
      recovered: { blocks, wal, entries: pending },
    })
    for (const b of blocks.slice(-21)) this.#activity.committed(b.block)
    for (const e of pending) {
      const rec = store.entry(e.id)
      if (rec?.local && rec.status === 'submitted') this.#unrelayed.add(e.id)
      this.#received.set(e.id, rec?.received ?? Date.now())
    }
    const now = Date.now()
    this.#nonce = now * 1_000
    this.#rounds = new RoundLog(now)
  }

  static async start(opts: NodeOptions): Promise<TallyNode> {
    // The database first: its lock is what stops a second node on the same data folder.
    const store = Store.open(join(opts.dataDir, DB_FILE))
    let votes: VoteLog | null = null
    let node: TallyNode
    try {
      votes = openVoteLog(store, opts.dataDir)
      node = new TallyNode(store, votes, opts)
    } catch (error) {
      votes?.close()
      store.close()
      throw error
    }
    const s = node.settings
    const known = store
      .peers()
      .filter((p) => p.id !== node.id)
      .flatMap((p) => {
        const peer = peerIdFromNodeId(p.id).toString()
        return p.addrs.map((a) => (a.includes('/p2p/') ? a : `${a}/p2p/${peer}`))
      })
    try {
      node.#net = await Net.start(
        {
          seed: store.getMeta('node-seed')!,
          ledger: node.ledger,
          listen: opts.listen ?? s.listen,
          // Peers met before are redialled like static ones: an office machine's address rarely changes.
          peers: [...new Set([...s.peers, ...(opts.peers ?? []), ...known])],
          mdns: opts.mdns ?? s.mdns,
          pingIntervalMs: s.pingIntervalMs,
          pingTimeoutMs: s.pingTimeoutMs,
          maxMessageBytes: LIMITS.blockBytes * 2,
          // The largest message gossiped is a proposal: its block and a little over.
          maxGossipBytes: LIMITS.blockBytes + 2048,
          validate: (topic, data) => node.#validate(topic, data),
        },
        {
          onGossip: (topic, data, from) => node.#onGossip(topic, data, from),
          onDirect: (data, from) => node.#onDirect(data, from),
          onPeer: (id, connected) => node.#onPeer(id, connected),
        },
      )
    } catch (error) {
      votes.close()
      store.close()
      throw error
    }
    node.#drive(() => node.#replica.start(Date.now()))
    return node
  }

  get ledger(): Hash {
    return this.#replica.ledger
  }

  get state(): LedgerState {
    return this.#replica.ledgerState
  }

  /** Entries waiting for a block here: `status().pending` without the rest. */
  get pending(): number {
    return this.#replica.pending
  }

  /** Why `submit` would refuse `body` on any ledger (the replica's own rule), or null. */
  bodyError(body: EntryBody): string | null {
    return entryBodyError(body)
  }

  addrs(): string[] {
    return this.#net?.addrs() ?? []
  }

  /** Listens to everything the node does; returns the unsubscribe. */
  subscribe(listener: (e: NodeEventData) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Signs and stores an entry of this node's user. Resolves once it is on disk (so a crash
   * cannot lose it); rejects with SubmitError, having stored nothing, when the ledger refuses it.
   * Submissions that arrive together share one transaction.
   */
  submit(body: EntryBody): Promise<{ id: Hash; status: EntryStatus }> {
    if (this.#stopped) return Promise.reject(new Error('the node is stopping'))
    return new Promise((resolve, reject) => {
      this.#submits.push({ body, resolve, reject })
      if (!this.#submitScheduled) {
        this.#submitScheduled = true
        setImmediate(() => this.#takeSubmits())
      }
    })
  }

  entry(id: Hash): EntryRecord | null {
    return this.store.entry(id)
  }

  entries(query: EntryQuery): { entries: EntryRecord[]; next: number | null } {
    return this.store.entries(query)
  }

  block(height: number): { block: Block; commit: Commit; hash: Hash } | null {
    const b = this.store.block(height)
    const h = this.store.blockHeader(height)
    if (b === null || h === null) return null
    return { ...b, hash: h.hash }
  }

  status(): NodeStatus {
    const m = this.#replica.consensus
    const validators = this.state.validators()
    const total = totalWeight(validators)
    const connected = new Set(this.#net?.connected() ?? [])
    let online = 0
    for (const v of validators) if (v.id === this.id || connected.has(v.id)) online += v.weight
    const quorum = minimumExceeding(total, thresholdsFor(this.genesis.faultModel).quorum)
    const last = this.store.blockHeader(this.state.height)
    const me = this.state.members().find((x) => x.id === this.id)
    return {
      nodeId: this.id,
      name: me?.name || this.settings.name,
      ledger: this.ledger,
      ledgerName: this.genesis.name,
      faultModel: this.genesis.faultModel,
      height: this.state.height,
      round: m.round,
      step: m.step,
      members: this.state.members().length,
      online,
      quorum,
      hasQuorum: online >= quorum,
      stateHash: this.state.stateHash,
      pending: this.#replica.pending,
      lastBlockTime: last?.time ?? null,
    }
  }

  peers(): PeerInfo[] {
    const health = new Map((this.#net?.health() ?? []).map((h) => [h.id, h]))
    const members = this.state.members()
    const out: PeerInfo[] = []
    const row = (id: NodeId, name: string, member: boolean): PeerInfo => {
      const h = health.get(id)
      const self = id === this.id
      return {
        id,
        name,
        self,
        member,
        connected: self || (h?.connected ?? false),
        since: h?.since ?? null,
        latencyMs: self ? 0 : (h?.latencyMs ?? null),
        lastMessage: h?.lastMessage ?? null,
        addrs: self ? this.addrs() : (h?.addrs ?? []),
        height: self ? this.state.height : this.#activity.height(id),
        votedShare: this.#activity.votedShare(id),
        score: self ? null : (h?.score ?? null),
      }
    }
    for (const m of members) out.push(row(m.id, m.name, true))
    for (const h of health.values()) {
      if (!members.some((m) => m.id === h.id)) out.push(row(h.id, '', false))
    }
    return out
  }

  rounds(): RoundsInfo {
    const m = this.#replica.consensus
    const votes = m.rounds.get(m.round)
    return {
      height: m.height,
      round: m.round,
      step: m.step,
      proposer: proposerFor(m.validators, m.height, m.round, m.passOver),
      votes: m.validators.map((v) => ({
        validator: v.id,
        prevote: votes?.prevotes.get(v.id)?.[0]?.vote.value,
        precommit: votes?.precommits.get(v.id)?.[0]?.vote.value,
      })),
      recent: this.#rounds.recent(),
    }
  }

  /** Test hook: refuse all traffic with these peers; [] heals. */
  isolate(peers: readonly NodeId[]): void {
    this.#net?.isolate(peers)
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    for (const s of this.#submits) s.reject(new Error('the node is stopping'))
    this.#submits = []
    try {
      this.#writes.sync()
    } catch {
      // Reported by the batch; what was acknowledged was on disk already.
    }
    this.#writes.cancel()
    try {
      await this.#net?.stop()
    } finally {
      this.#votes.close()
      this.store.close()
    }
  }

  // --- inputs -------------------------------------------------------------------------------

  #takeSubmits(): void {
    this.#submitScheduled = false
    const batch = this.#submits
    this.#submits = []
    if (this.#stopped) return
    const accepted: { q: QueuedSubmit; id: Hash }[] = []
    const effects: ReplicaEffect[] = []
    for (const q of batch) {
      const r = this.#replica.submit(q.body, Date.now(), this.#nonce++)
      if (!r.ok) {
        q.reject(new SubmitError(r.error))
        continue
      }
      accepted.push({ q, id: r.id })
      effects.push(...r.effects)
    }
    try {
      this.#carry(effects)
      this.#writes.flush()
    } catch (error) {
      for (const a of accepted) a.q.reject(error as Error)
      // The entries are in the mempool and may already be on their way: a node that cannot
      // write its votes or entries stops rather than go on with what its disk does not hold.
      this.#fail(error)
      return
    }
    for (const a of accepted) {
      const status = this.store.entry(a.id)?.status ?? 'submitted'
      // A node that holds a quorum alone may have committed it already, inside submit.
      if (status === 'submitted') this.#unrelayed.add(a.id)
      a.q.resolve({ id: a.id, status })
    }
  }

  #validate(topic: Topic, data: Uint8Array): 'accept' | 'reject' | 'ignore' {
    return judgeGossip(this.#judging(), topic, data).verdict
  }

  #judging(): GossipContext {
    return {
      ledger: this.ledger,
      verifier: this.#verifier,
      isMember: (id) => this.#isMember(id),
    }
  }

  #isMember(id: NodeId): boolean {
    return this.state.members().some((m) => m.id === id)
  }

  #onGossip(topic: Topic, data: Uint8Array, from: NodeId): void {
    let message: WireMessage
    try {
      message = decodeMessage(data)
    } catch {
      return // the validator saw it first and rejected it; nothing gets here undecodable
    }
    if (topicOf(message) !== topic) return
    this.#receive(message, from)
  }

  #receive(message: WireMessage, from: NodeId): void {
    if (message.type === 'vote')
      this.#activity.heard(message.vote.vote.validator, message.vote.vote.height)
    if (message.type === 'proposal') {
      const p = message.proposal.proposal
      this.#activity.heard(p.proposer, p.height)
    }
    this.#drive(() => this.#replica.receive(from, message, Date.now()))
  }

  #onDirect(data: Uint8Array, from: NodeId): void {
    let message: WireMessage
    try {
      message = decodeMessage(data)
    } catch (error) {
      this.#net?.penalise(from, `direct message does not decode: ${(error as Error).message}`)
      return
    }
    if (message.type === 'proposal' || message.type === 'vote') {
      // Sent here by #sendToMembers: judged as gossip would be, since no validator saw it.
      const judged = judgeMessage(this.#judging(), 'consensus', message)
      if (judged.verdict === 'reject') this.#net?.penalise(from, judged.reason)
      if (judged.verdict === 'accept') this.#receive(message, from)
      return
    }
    if (message.type !== 'sync-request' && message.type !== 'sync-response') {
      // Entries travel by gossip, where validation checks their signer.
      this.#net?.penalise(from, `a ${message.type} message on the direct protocol`)
      return
    }
    if (message.type === 'sync-request') {
      // Blocks are for members only; and each costs a read and a large answer, so a member
      // is served at the rate the limiter allows. No penalty past it: an honest node catching
      // up asks as fast as it is answered, and asks again after syncRetryMs.
      if (!this.#isMember(from) || !this.#serving.take(from, Date.now(), SYNC_REQUEST_COST)) return
    }
    this.#syncing = message.type === 'sync-response'
    try {
      this.#drive(() => this.#replica.receive(from, message, Date.now()))
    } finally {
      this.#syncing = false
    }
  }

  #onPeer(id: NodeId, connected: boolean): void {
    if (connected) {
      this.#lost.delete(id)
      // A quiet ledger sends nothing for seconds (until its heartbeat), and a node that came
      // back behind would wait that long to learn it: ask each peer met for what follows ours.
      this.#net?.send(id, encodeMessage({ type: 'sync-request', from: this.state.height + 1 }))
      const h = this.#net?.health().find((x) => x.id === id)
      // Members only: made-up keys must not push members out of the peer book.
      if (h !== undefined && h.addrs.length > 0 && this.#isMember(id)) {
        this.#writes.add(() => this.store.rememberPeer(id, h.addrs, Date.now()), false)
        this.#writes.flushSoon()
      }
    } else {
      if (this.#isMember(id)) this.#lost.add(id)
      this.#drive(() => this.#replica.peerLost(id, Date.now()))
    }
    this.#emit({ type: 'peer', id })
  }

  #timer(timer: ReplicaTimer, afterMs: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t)
      this.#drive(() => this.#replica.fire(timer, Date.now()))
    }, afterMs)
    this.#timers.add(t)
  }

  // --- effects ------------------------------------------------------------------------------

  #drive(fn: () => readonly ReplicaEffect[]): void {
    if (this.#stopped) return
    try {
      this.#carry(fn())
    } catch (error) {
      this.#fail(error)
    }
  }

  #carry(effects: readonly ReplicaEffect[]): void {
    this.#effects.carry(effects)
    this.#noteRound()
  }

  #outlets(): EffectOutlets {
    return {
      send: (to, message) => this.#send(to, message),
      schedule: (timer, afterMs) => this.#timer(timer, afterMs),
      penalise: (peer, reason) => this.#net?.penalise(peer, reason),
      equivocation: (validator, height) =>
        console.error(`tally: validator ${validator.slice(0, 8)} equivocated at height ${height}`),
      entry: (entry, durable) => {
        this.#received.set(entry.id, Date.now())
        if (!durable) this.#emitEntry(entry, 'relayed', null, null, false)
      },
      committed: (block, hash, commit, outcomes) => this.#committed(block, hash, commit, outcomes),
    }
  }

  #committed(block: Block, hash: Hash, commit: Commit, outcomes: readonly EntryOutcome[]): void {
    const now = Date.now()
    this.#activity.committed(block)
    this.#rounds.committed(block, commit.round, this.#syncing, now)
    const byId = new Map(block.entries.map((e) => [e.id, e]))
    const listening = this.#listeners.size > 0
    for (const o of outcomes) {
      if (o.status === 'duplicate') continue
      this.#unrelayed.delete(o.id)
      const entry = byId.get(o.id)
      if (listening && entry !== undefined) {
        this.#emitEntry(
          entry,
          o.status,
          block.header.height,
          o.status === 'rejected' ? o.reason : null,
          null,
        )
      }
      this.#received.delete(o.id)
    }
    this.#emit({ type: 'block', block, hash, round: commit.round })
  }

  #send(to: NodeId | null, message: WireMessage): void {
    const net = this.#net
    if (net === null) return
    const bytes = encodeMessage(message)
    if (to !== null) {
      // What a peer's sync requests cost is known once the answer is made.
      if (message.type === 'sync-response') this.#serving.charge(to, Date.now(), bytes.length)
      net.send(to, bytes)
      return
    }
    const topic = topicOf(message)
    if (topic === null) return
    if (topic === 'consensus' && this.#sendToMembers(net, bytes)) return
    const local =
      message.type === 'entries' ? message.entries.filter((e) => this.#unrelayed.has(e.id)) : []
    net.publish(topic, bytes).then(
      (recipients) => {
        if (recipients > 0 && local.length > 0 && !this.#stopped) this.#relayed(local)
      },
      () => {
        // Gossip is best effort: the relay timer sends waiting entries again.
      },
    )
  }

  /**
   * With every other member connected to this node (an office LAN), a consensus message goes to
   * each on its direct stream: one copy per peer on the critical path of every height, where
   * gossipsub's mesh delivers each message twice to each peer and costs about a millisecond of
   * CPU per copy. A member reachable only through another leaves the message to gossip, which
   * forwards; so does a send that fails (the peer's queue is over its bound).
   */
  #sendToMembers(net: Net, bytes: Uint8Array): boolean {
    const connected = new Set(net.connected())
    const others = this.state.members().filter((m) => m.id !== this.id)
    if (others.some((m) => !connected.has(m.id))) return false
    for (const m of others) if (!net.send(m.id, bytes)) return false
    return true
  }

  /** A peer has entries submitted here: the user sees them leave this machine. */
  #relayed(entries: readonly SignedEntry[]): void {
    const ids = entries.filter((e) => this.#unrelayed.delete(e.id)).map((e) => e.id)
    if (ids.length === 0) return
    this.#writes.add(() => this.store.markRelayed(ids), false)
    this.#writes.flushSoon()
    for (const e of entries) if (ids.includes(e.id)) this.#emitEntry(e, 'relayed', null, null, true)
  }

  #noteRound(): void {
    const m = this.#replica.consensus
    const last = this.#lastRound
    if (m.height === last.height && m.round === last.round && m.step === last.step) return
    this.#lastRound = { height: m.height, round: m.round, step: m.step }
    if (m.validators.length === 0) return
    const proposer = proposerFor(m.validators, m.height, m.round, m.passOver)
    // A proposer whose connection closed before this round began cannot send a proposal: tell
    // the machine now, as when the connection closes mid-round, rather than wait out the timeout.
    // (A machine killed just after voting is still in the last commit, so it is not passed over.)
    if (m.step === 'propose' && proposer !== this.id && this.#net !== null) {
      if (this.#lost.has(proposer)) {
        queueMicrotask(() => this.#drive(() => this.#replica.peerLost(proposer, Date.now())))
      }
    }
    if (this.#listeners.size === 0) return
    this.#emit({ type: 'round', height: m.height, round: m.round, step: m.step, proposer })
  }

  #emitEntry(
    entry: SignedEntry,
    status: EntryStatus,
    height: number | null,
    reason: string | null,
    local: boolean | null,
  ): void {
    if (this.#listeners.size === 0) return
    this.#emit({
      type: 'entry',
      entry: {
        entry,
        status,
        height,
        reason,
        local: local ?? entry.entry.author === this.id,
        received: this.#received.get(entry.id) ?? Date.now(),
      },
    })
  }

  #emit(e: NodeEventData): void {
    for (const l of this.#listeners) {
      try {
        l(e)
      } catch (error) {
        console.error('tally: an event listener failed:', error)
      }
    }
  }

  #fail(error: unknown): void {
    if (this.#stopped) return
    const e = error instanceof Error ? error : new Error(String(error))
    console.error(`tally: the node stops: ${e.message}`)
    void this.stop()
      .catch(() => {})
      .finally(() => this.#onFatal(e))
  }
}
