/**
 * A running node: the replica (ledger, mempool, consensus, block sync) driven by real time,
 * persisted in SQLite and connected by libp2p. This is the one place that carries the replica's
 * effects out, in the order it gives them: a write the replica marks durable is on disk before
 * any later effect happens, which is what keeps a restarted node from contradicting its own
 * votes and a submitter from being told "accepted" about an entry a crash could lose.
 */
import { join, resolve } from 'node:path'
import { decodeMessage, encodeMessage, type WireMessage } from '../consensus/messages.ts'
import { proposerFor } from '../consensus/proposer.ts'
import { Replica, type ReplicaEffect, type ReplicaTimer } from '../consensus/replica.ts'
import type { Step } from '../consensus/types.ts'
import { Verifier } from '../ledger/crypto.ts'
import { LIMITS } from '../ledger/limits.ts'
import { projectedMembers } from '../ledger/membership.ts'
import { shortNodeId } from '../ledger/node-id.ts'
import { additionRefusal, removalRefusal } from '../ledger/quorum.ts'
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
import { Net, type Topic } from '../net/host.ts'
import type { LedgerInfo } from '../net/join.ts'
import { peerIdFromNodeId } from '../net/keys.ts'
import { RateLimiter } from '../net/rate-limit.ts'
import type { KeyRecord } from '../store/idempotency.ts'
import type { JoinRequest as JoinRequestRecord } from '../store/join-requests.ts'
import { openVoteLog } from '../store/open-votes.ts'
import { type EntryQuery, type EntryRecord, Store } from '../store/store.ts'
import type { VoteLog } from '../store/vote-log.ts'
import { ACTIVITY_WINDOW, Activity } from './activity.ts'
import { batchedDisk, EffectExecutor, type EffectOutlets } from './effects.ts'
import { type GossipContext, judgeDirect, judgeGossip, topicOf } from './gossip.ts'
import { JoinDesk } from './joins.ts'
import { readDisk } from './recovery.ts'
import { RoundLog } from './rounds.ts'
import { type NodeSettings, readSettings, settingsInEffect } from './settings.ts'
import { KeyedGroup, type KeyedSubmit } from './submit-keys.ts'
import {
  type NodeStatus,
  nodeStatus,
  type PeerInfo,
  peerInfos,
  type RoundsInfo,
  roundsInfo,
  type ViewSource,
} from './views.ts'
import { WriteBatch } from './write-batch.ts'

export const DB_FILE = 'tally.db'

const MIB = 1024 * 1024
/** Charged up front for a sync request; the answer's size is charged once it is made. */
const SYNC_REQUEST_COST = 64 * 1024
/**
 * A waiting machine asks every 2 s or so (core/node/lobby.ts; a round waits for its slowest
 * node, up to about 8 s); one silent for longer than this is probably gone, and approving it
 * would raise the quorum for a voter that never comes.
 */
const STILL_ASKING_MS = 30_000
/** Gossip publishes handed to the network and not yet done. */
const MAX_PUBLISHING = 16

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

export type { NodeStatus, PeerInfo, RoundsInfo, VoteInfo } from './views.ts'

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
  /** A machine asked to join, or a request was decided. */
  | { readonly type: 'join-requests' }

/** A submission the ledger refuses; nothing was stored. */
export class SubmitError extends Error {}

interface QueuedSubmit {
  readonly body: EntryBody
  readonly resolve: (r: { id: Hash; status: EntryStatus }) => void
  readonly reject: (e: Error) => void
  /** The keyed submission it is part of: its key is written with its entries. */
  readonly group: KeyedGroup | undefined
}

export class TallyNode {
  readonly id: NodeId
  readonly genesis: Genesis
  /** The settings as stored in the data folder. */
  readonly settings: NodeSettings
  /** The settings this run goes by: the stored ones with the command line's overrides. */
  readonly effectiveSettings: NodeSettings
  /** The data folder, as an absolute path. */
  readonly dataDir: string
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
  /** Publishes under way (see MAX_PUBLISHING). */
  #publishing = 0
  #submits: QueuedSubmit[] = []
  #submitScheduled = false
  #nonce: number
  #stopped = false
  #syncing = false
  #lastRound = { height: 0, round: -1, step: 'idle' as Step }
  readonly #onFatal: (error: Error) => void
  readonly #joins: JoinDesk
  /**
   * Members remembered on disk (met, or named by the approval that let this machine in). A node
   * that is behind knows only the members of its own height: one added since, met before or named
   * by its approval, must still be let in, or a machine that just joined could fetch the ledger
   * only from members as old as its genesis. A member whose removal is in force is forgotten.
   */
  readonly #knownMembers = new Set<NodeId>()
  /** Who may have the ledger as of the last block (members and additions committed). */
  #ledgerMembers: ReadonlySet<NodeId>

  private constructor(store: Store, votes: VoteLog, opts: NodeOptions) {
    this.store = store
    this.#votes = votes
    this.#onFatal = opts.onFatal ?? (() => {})
    const now = Date.now()
    const disk = readDisk(store, votes, now)
    this.genesis = disk.genesis
    this.settings = readSettings(store.settings())
    this.effectiveSettings = settingsInEffect(this.settings, opts)
    this.dataDir = resolve(opts.dataDir)
    const keypair = disk.keypair
    this.id = keypair.id
    this.#verifier = new Verifier()
    this.#writes = new WriteBatch(store, (error) => this.#fail(error))
    this.#effects = new EffectExecutor(
      batchedDisk(votes, this.#writes, store, Date.now),
      this.#outlets(),
    )
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
      recovered: disk.recovered,
    })
    // Each block carries the commit of the one before: the window's commits, and one more in
    // case the first of them is block 1, which carries none.
    for (const b of disk.recovered.blocks.slice(-(ACTIVITY_WINDOW + 1))) {
      this.#activity.committed(b.block)
    }
    for (const id of disk.unrelayed) this.#unrelayed.add(id)
    for (const [id, at] of disk.received) this.#received.set(id, at)
    this.#nonce = now * 1_000
    this.#rounds = new RoundLog(
      now,
      (id) => this.state.members().find((x) => x.id === id)?.name || shortNodeId(id),
    )
    store.keys.prune(now)
    this.#ledgerMembers = ledgerMembers(this.state)
    for (const p of store.peers()) this.#knownMembers.add(p.id)
    this.#joins = new JoinDesk({
      ledger: this.ledger,
      genesis: this.genesis,
      store,
      members: () => this.state.members().map((m) => m.id),
      mayHaveLedger: (id) => this.#mayHaveLedger(id),
      connectedMembers: () => {
        const connected = new Set(this.#net?.connected() ?? [])
        return this.state.members().filter((m) => m.id !== this.id && connected.has(m.id)).length
      },
      memberAddrs: () => [
        ...this.addrs(),
        ...store
          .peers()
          .filter((p) => this.#mayHaveLedger(p.id))
          .flatMap((p) => p.addrs.slice(0, 4)),
      ],
      changed: () => this.#emit({ type: 'join-requests' }),
    })
  }

  /**
   * Starts the node on `opts.dataDir`, or on `store` if the caller has it open already (opening
   * checks the whole file, which is worth doing once). The node owns the store from then on,
   * and closes it if it cannot start.
   */
  static async start(opts: NodeOptions, opened?: Store): Promise<TallyNode> {
    // The database first: its lock is what stops a second node on the same data folder.
    const store = opened ?? Store.open(join(opts.dataDir, DB_FILE))
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
          isMember: (id) => node.#letIn(id),
          join: (from, addr, request) => node.#joins.answer(from, addr, request),
        },
        {
          onGossip: (topic, data, from) => node.#onGossip(topic, data, from),
          onDirect: (data, from) => node.#onDirect(data, from),
          onPeer: (id, connected) => node.#onPeer(id, connected),
          onAddrs: (id, addrs) => node.#onAddrs(id, addrs),
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
   * Submissions that arrive together share one transaction. With `keyed`, the key's record is
   * written in that transaction too, if the entry is stored.
   */
  submit(body: EntryBody, keyed?: KeyedSubmit): Promise<{ id: Hash; status: EntryStatus }> {
    return this.submitAll([body], keyed)[0]!
  }

  /**
   * `submit` for each body, in one transaction; with `keyed`, one key record for them all,
   * written in it if any of them is stored.
   */
  submitAll(
    bodies: readonly EntryBody[],
    keyed?: KeyedSubmit,
  ): Promise<{ id: Hash; status: EntryStatus }>[] {
    if (this.#stopped) return bodies.map(() => Promise.reject(new Error('the node is stopping')))
    const group = keyed === undefined ? undefined : new KeyedGroup(keyed)
    const promises = bodies.map(
      (body) =>
        new Promise<{ id: Hash; status: EntryStatus }>((resolve, reject) => {
          this.#submits.push({ body, resolve, reject, group })
        }),
    )
    if (!this.#submitScheduled) {
      this.#submitScheduled = true
      setImmediate(() => this.#takeSubmits())
    }
    return promises
  }

  /** The record of an idempotency key submitted with, or null if none is kept. */
  keyRecord(key: string): KeyRecord | null {
    return this.store.keys.get(key)
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
    return nodeStatus(this.#viewSource())
  }

  peers(): PeerInfo[] {
    return peerInfos(this.#viewSource())
  }

  rounds(): RoundsInfo {
    return roundsInfo(this.#viewSource())
  }

  /** What a machine outside the ledger may learn of it. */
  ledgerInfo(): LedgerInfo {
    return this.#joins.info()
  }

  /** Machines waiting for a member to let them join, oldest first. */
  joinRequests(): readonly JoinRequestRecord[] {
    return this.#joins.list()
  }

  /**
   * Lets a waiting machine join: an entry that adds it, committed like any other. Its request
   * stays listed until the addition is committed. SubmitError if no such request is waiting.
   */
  approveJoin(id: NodeId): Promise<{ id: Hash; status: EntryStatus }> {
    const request = this.#joins.get(id)
    if (request === null) {
      return Promise.reject(new SubmitError(`no machine ${id.slice(0, 8)} is waiting to join`))
    }
    const refusal = this.approvalRefusal(id)
    if (refusal !== null) return Promise.reject(new SubmitError(refusal))
    return this.submit({ kind: 'member', action: 'add', member: id, name: request.name })
  }

  /**
   * Why approving the waiting machine now would be refused, or null. An addition raises the
   * quorum, and nothing commits again until enough members vote: the machine must be asking
   * now (a request left by a machine since gone would stop a small ledger for good), and the
   * members online with it must reach the new quorum.
   */
  approvalRefusal(id: NodeId): string | null {
    const request = this.#joins.get(id)
    if (request === null) return `no machine ${id.slice(0, 8)} is waiting to join`
    const silent = Date.now() - request.lastAt
    if (silent > STILL_ASKING_MS) {
      return `machine ${shortNodeId(id)} has not asked for ${Math.round(silent / 1000)} s and may be gone: start it and let it ask again, then approve`
    }
    const waiting = this.#replica.waitingMemberChanges()
    if (waiting.some((c) => c.member === id) || this.#mayHaveLedger(id)) {
      return `machine ${shortNodeId(id)} is being added already`
    }
    const online = new Set([this.id, id, ...(this.#net?.connected() ?? [])])
    // Judged against the members it will join: those once the changes already committed are in.
    const members = projectedMembers(this.state.members(), this.state.pendingMemberChanges())
    return additionRefusal([...members], online, this.genesis.faultModel, id)
  }

  /** Refuses a waiting machine; it is told so and not listed again for a while. */
  denyJoin(id: NodeId): boolean {
    return this.#joins.deny(id)
  }

  /**
   * Retires a member for good: an entry that removes it. SubmitError, with the reason, when the
   * ledger would then lack a quorum of the members online now, or it is not a member.
   */
  removeMember(id: NodeId): Promise<{ id: Hash; status: EntryStatus }> {
    const refusal = this.removalRefusal(id)
    if (refusal !== null) return Promise.reject(new SubmitError(refusal))
    return this.submit({ kind: 'member', action: 'remove', member: id, name: '' })
  }

  /**
   * Why removing the member now would be refused, or null. While another change is on its way
   * the answer waits for it: judged against today's members, two removals in a row could each
   * look safe and together leave too few online (the ledger itself holds back the second).
   */
  removalRefusal(id: NodeId): string | null {
    const pending = this.state.pendingMemberChanges()[0]
    if (pending !== undefined) {
      const what = pending.action === 'add' ? 'an addition' : 'a removal'
      return `${what} is under way (from height ${pending.effective}); remove this member once it is in force`
    }
    if (this.#replica.waitingMemberChanges().length > 0) {
      return 'another membership change waits for a block; remove this member once it is in force'
    }
    const online = new Set([this.id, ...(this.#net?.connected() ?? [])])
    return removalRefusal(
      this.state.members().map((m) => m.id),
      online,
      this.genesis.faultModel,
      id,
    )
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

  #viewSource(): ViewSource {
    const net = this.#net
    return {
      id: this.id,
      genesis: this.genesis,
      name: this.settings.name,
      state: this.state,
      consensus: this.#replica.consensus,
      pending: this.#replica.pending,
      activity: this.#activity,
      rounds: this.#rounds,
      blockTime: (h) => this.store.blockHeader(h)?.time ?? null,
      connected: () => net?.connected() ?? [],
      health: () => net?.health() ?? [],
      addrs: () => this.addrs(),
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
    const keyed = new Set<KeyedGroup>()
    for (const q of batch) {
      const r = this.#replica.submit(q.body, Date.now(), this.#nonce++)
      if (!r.ok) {
        q.group?.refused(r.error)
        q.reject(new SubmitError(r.error))
        continue
      }
      q.group?.stored(r.id)
      if (q.group !== undefined) keyed.add(q.group)
      accepted.push({ q, id: r.id })
      effects.push(...r.effects)
    }
    try {
      // The entries' writes first, then the keys' records, then the rest: a lone member commits
      // inside submit, and the record of its next height syncs whatever is queued by then, so a
      // key queued after it could miss its entries' transaction. Writing an entry earlier than
      // the replica listed it waits on nothing.
      this.#carry(effects.filter((e) => e.type === 'persist-entry'))
      for (const g of keyed) this.#writes.add(() => g.write(this.store, Date.now()), true)
      this.#carry(effects.filter((e) => e.type !== 'persist-entry'))
      this.#writes.flush()
    } catch (error) {
      for (const a of accepted) a.q.reject(error as Error)
      // The entries are in the mempool and may already be on their way: a node that cannot
      // write its votes or entries stops rather than go on with what its disk does not hold.
      this.#fail(error)
      return
    }
    for (const a of accepted) {
      // A keyed submission is answered as its key will answer a retry.
      const status = a.q.group?.statusOf(a.id) ?? this.store.entry(a.id)?.status ?? 'submitted'
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
      maySync: (id) => this.#letIn(id),
    }
  }

  #isMember(id: NodeId): boolean {
    return this.state.members().some((m) => m.id === id)
  }

  /**
   * Who may see the ledger over the network: the members, and a machine whose addition is
   * committed but not yet in force (it fetches the ledger by block sync before it votes). One
   * whose removal is committed keeps it until the removal is in force: it still votes until then.
   */
  #mayHaveLedger(id: NodeId): boolean {
    return this.#ledgerMembers.has(id)
  }

  /**
   * Who the network lets in: who may have the ledger at this node's height, and the members it
   * remembers (one added at a height this node has not reached yet; see #knownMembers).
   */
  #letIn(id: NodeId): boolean {
    return this.#mayHaveLedger(id) || this.#knownMembers.has(id)
  }

  /** A member's current addresses, remembered for the next start (members only: bounded). */
  #onAddrs(id: NodeId, addrs: readonly string[]): void {
    if (this.#stopped || !this.#mayHaveLedger(id)) return
    this.#remember(id, addrs)
  }

  #remember(id: NodeId, addrs: readonly string[]): void {
    this.#knownMembers.add(id)
    this.#writes.add(() => this.store.rememberPeer(id, addrs, Date.now()), false)
    this.#writes.flushSoon()
  }

  /**
   * Members whose removal is now in force are no longer remembered, let in or redialled. Only
   * those that were members here before: one this node remembers but has not seen added yet
   * (it is behind) is not removed, only unknown so far.
   */
  #forgetRemoved(before: ReadonlySet<NodeId>): void {
    for (const id of before) {
      if (this.#mayHaveLedger(id)) continue
      this.#knownMembers.delete(id)
      // Durable: a removed member forgotten only in memory would be let in again after a crash.
      this.#writes.add(() => this.store.forgetPeer(id), true)
    }
    this.#writes.flushSoon()
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
    const judged = judgeDirect(this.#judging(), data, from, (peer) =>
      this.#serving.take(peer, Date.now(), SYNC_REQUEST_COST),
    )
    if (judged.verdict === 'reject') this.#net?.penalise(from, judged.reason)
    if (judged.verdict !== 'accept') return
    const message = judged.message
    if (message.type === 'proposal' || message.type === 'vote') {
      this.#receive(message, from)
      return
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
      // Nothing of the ledger for a machine outside it, not even our height.
      if (!this.#letIn(id)) {
        this.#emit({ type: 'peer', id })
        return
      }
      this.#lost.delete(id)
      // A quiet ledger sends nothing for seconds (until its heartbeat), and a node that came
      // back behind would wait that long to learn it: ask each peer met for what follows ours.
      this.#net?.send(id, encodeMessage({ type: 'sync-request', from: this.state.height + 1 }))
      const h = this.#net?.health().find((x) => x.id === id)
      // Members only: made-up keys must not push members out of the peer book.
      if (h !== undefined && h.addrs.length > 0) this.#remember(id, h.addrs)
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
    // Acted on once, when who may have the ledger changes: an addition committed, a removal in
    // force. (An addition coming into force, or a removal committed, changes nobody's access.)
    const before = this.#ledgerMembers
    const after = ledgerMembers(this.state)
    if (after.size !== before.size || [...after].some((id) => !before.has(id))) {
      this.#ledgerMembers = after
      this.#forgetRemoved(before)
      this.#joins.membersChanged()
      this.#net?.membersChanged()
    }
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
    if (bytes.length > net.maxPublishBytes) {
      // Too large for gossipsub (a proposal of a large block): each member connected here gets
      // it directly; one reachable only through another fetches the block by sync once it is
      // committed. Entry batches are bounded well below this.
      const connected = new Set(net.connected())
      for (const m of this.state.members()) {
        if (m.id !== this.id && connected.has(m.id)) net.send(m.id, bytes)
      }
      return
    }
    // Net runs publishes one at a time, each waiting while a peer's backlog is over its bound:
    // past a few waiting here, more would only queue in memory. Gossip is best effort, and the
    // relay and re-send timers send again what is still wanted; consensus messages get room
    // that entries cannot take.
    if (this.#publishing >= (topic === 'entries' ? MAX_PUBLISHING : 2 * MAX_PUBLISHING)) return
    this.#publishing++
    const local =
      message.type === 'entries' ? message.entries.filter((e) => this.#unrelayed.has(e.id)) : []
    net
      .publish(topic, bytes)
      .then(
        (recipients) => {
          if (recipients > 0 && local.length > 0 && !this.#stopped) this.#relayed(local)
        },
        () => {},
      )
      .finally(() => this.#publishing--)
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
    this.#rounds.observe(m)
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

/** Members, and those whose addition is committed: who may have the ledger. */
function ledgerMembers(state: LedgerState): ReadonlySet<NodeId> {
  const ids = new Set(state.members().map((m) => m.id))
  for (const c of state.pendingMemberChanges()) if (c.action === 'add') ids.add(c.member)
  return ids
}
