/**
 * One node's logic, without I/O: the ledger state, the mempool, the consensus machine and block
 * sync, driven by whoever hosts it (the real node, or the simulator). Like etcd raft's RawNode it
 * is synchronous and single-threaded: each call returns effects, which the host carries out in
 * order. The clock arrives as an argument; nothing here reads one.
 *
 * Effects that persist come before the effects that depend on them: a `persist-wal` must be
 * durable before the next `send`, and a `persist-entry` marked durable before the submitter is
 * told its entry was accepted.
 */
import { bodyMismatch, buildBlock, verifyBlock } from '../ledger/block.ts'
import type { Keypair, Verifier } from '../ledger/crypto.ts'
import { blockHash, ledgerId } from '../ledger/hashing.ts'
import { LIMITS } from '../ledger/limits.ts'
import { proposable } from '../ledger/membership.ts'
import { thresholdsFor } from '../ledger/quorum.ts'
import { entryBodyError } from '../ledger/rules.ts'
import {
  commitError,
  signEntry,
  verifyEntry,
  verifyProposal,
  verifyVote,
} from '../ledger/signing.ts'
import type { Execution } from '../ledger/state.ts'
import { LedgerState } from '../ledger/state.ts'
import type {
  Block,
  Commit,
  EntryBody,
  EntryOutcome,
  Genesis,
  Hash,
  MemberChange,
  NodeId,
  SignedEntry,
  SignedVote,
  Validator,
} from '../ledger/types.ts'
import { initialState, ROUNDS_AHEAD, step, wouldKeep } from './machine.ts'
import {
  type ConsensusMessage,
  ENTRY_BATCH,
  SYNC_BATCH,
  type SyncedBlock,
  type WireMessage,
} from './messages.ts'
import { missingFrom, proposerFor } from './proposer.ts'
import { type Timing, timeoutMs } from './timing.ts'
import type { ConsensusState, Effect, Input, Timeout, WalRecord } from './types.ts'

export type ReplicaTimer =
  | { readonly kind: 'consensus'; readonly timeout: Timeout }
  | { readonly kind: 'relay' }
  | { readonly kind: 'flush' }

export type ReplicaEffect =
  | { readonly type: 'persist-wal'; readonly wal: WalRecord }
  | { readonly type: 'persist-entry'; readonly entry: SignedEntry; readonly durable: boolean }
  | { readonly type: 'persist-block'; readonly block: Block; readonly commit: Commit }
  /** `to: null` is every peer. */
  | { readonly type: 'send'; readonly to: NodeId | null; readonly message: WireMessage }
  | { readonly type: 'schedule'; readonly timer: ReplicaTimer; readonly afterMs: number }
  | {
      readonly type: 'committed'
      readonly block: Block
      readonly hash: Hash
      readonly commit: Commit
      readonly outcomes: readonly EntryOutcome[]
    }
  /** A peer sent something that fails verification: the network layer penalises it. */
  | { readonly type: 'misbehaviour'; readonly peer: NodeId; readonly reason: string }
  | { readonly type: 'equivocation'; readonly validator: NodeId; readonly height: number }

/** Reads committed blocks back, to serve block sync. */
export interface ChainReader {
  block(height: number): SyncedBlock | null
}

/** What the disk kept across a restart. */
export interface Recovered {
  readonly blocks: readonly SyncedBlock[]
  readonly wal: WalRecord | null
  readonly entries: readonly SignedEntry[]
}

export interface ReplicaInit {
  readonly keypair: Keypair
  readonly genesis: Genesis
  readonly timing: Timing
  readonly verifier: Verifier
  readonly chain: ChainReader
  readonly recovered?: Recovered
  readonly maxBlockEntries?: number
  /** Entries waiting past which entries from peers are refused; MEMPOOL_LIMIT unless a test lowers it. */
  readonly mempoolLimit?: number
  /** Wait for entries before starting a height (the default); off, every height starts at once. */
  readonly waitForWork?: boolean
}

export type SubmitResult =
  | { readonly ok: true; readonly id: Hash; readonly effects: readonly ReplicaEffect[] }
  | { readonly ok: false; readonly error: string }

/** Messages kept for the next height while this one finishes: enough for a few rounds of votes. */
const FUTURE_BUFFER = 1_024
/**
 * Entries waiting for a block past which entries from peers are refused. Refusing is safe: no one
 * here acknowledged them, and their author's node keeps them and relays them again. Submissions
 * here have their own bound at the API (`MAX_PENDING`, the same figure).
 */
export const MEMPOOL_LIMIT = 50_000
/**
 * Most waiting entries gossiped again per relay tick, oldest first: two full gossip batches, so
 * a long queue (no quorum for a while) goes round in turns rather than all at once every tick.
 */
export const RELAY_LIMIT = 2 * ENTRY_BATCH

export class Replica {
  readonly id: NodeId
  readonly ledger: Hash
  private readonly init: ReplicaInit
  private state: LedgerState
  private machine: ConsensusState
  private lastCommit: Commit | null = null
  /** The last committed block: its recorded commit decides who is passed over next. */
  private lastBlock: Block | null = null
  /**
   * Who votes and who is passed over at the height after the last committed block. The machine
   * learns them from `start-height`, which may still wait in the input queue when the messages
   * buffered for that height are replayed; checks made here must not read the machine's state.
   */
  private voters: { validators: readonly Validator[]; passOver: readonly NodeId[] } = {
    validators: [],
    passOver: [],
  }
  private pendingWal: WalRecord | null
  /** Entries waiting for a block, in arrival order. */
  private readonly mempool = new Map<Hash, SignedEntry>()
  /**
   * The same entries by when each last went out (or arrived), oldest first: the relay re-sends
   * from the front, and moves what it sent to the back.
   */
  private readonly relayQueue = new Map<Hash, number>()
  /**
   * The last committed blocks, while they hold at most a sync answer's worth: most sync requests
   * and pushes are for the newest heights, and these answer them without reading and decoding
   * them back from the store.
   */
  private recent: SyncedBlock[] = []
  private recentEntries = 0
  private outbox: SignedEntry[] = []
  private flushScheduled = false
  /** Verification results of this height's proposed blocks, by block hash. */
  private checked = new Map<Hash, Execution | null>()
  private future: { from: NodeId; message: ConsensusMessage }[] = []
  /** When each peer was last asked for blocks, or pushed some; only the last `syncRetryMs`. */
  private readonly lastSyncAsk = new Map<NodeId, number>()
  private readonly lastSyncPush = new Map<NodeId, number>()
  private effects: ReplicaEffect[] = []
  private inputs: Input[] = []
  private now = 0

  constructor(init: ReplicaInit) {
    this.init = init
    this.id = init.keypair.id
    this.ledger = ledgerId(init.genesis)
    this.state = LedgerState.fromGenesis(init.genesis)
    this.machine = initialState({
      ledger: this.ledger,
      signer: init.keypair,
      thresholds: thresholdsFor(init.genesis.faultModel),
      waitForWork: init.waitForWork ?? true,
    })
    const rec = init.recovered
    for (const b of rec?.blocks ?? []) {
      this.state.apply(b.block)
      this.remember(b)
      this.lastBlock = b.block
      this.lastCommit = b.commit
    }
    this.pendingWal = rec?.wal ?? null
    for (const e of rec?.entries ?? []) {
      if (this.state.isCommitted(e.id)) continue
      this.mempool.set(e.id, e)
      // Due at once: they go out again when the node starts.
      this.relayQueue.set(e.id, Number.NEGATIVE_INFINITY)
    }
  }

  /** The last committed height. */
  get height(): number {
    return this.state.height
  }

  get ledgerState(): LedgerState {
    return this.state
  }

  get consensus(): ConsensusState {
    return this.machine
  }

  get pending(): number {
    return this.mempool.size
  }

  /** Membership changes waiting in the mempool, in their order (the API asks before a change). */
  waitingMemberChanges(): MemberChange[] {
    const out: MemberChange[] = []
    for (const e of this.mempool.values()) {
      if (e.entry.body.kind === 'member') out.push(e.entry.body)
    }
    return out
  }

  /** Boots the node: consensus starts at the next height, and waiting entries go out again. */
  start(now: number): ReplicaEffect[] {
    this.now = now
    this.schedule({ kind: 'relay' }, this.init.timing.relayMs)
    this.enterNextHeight()
    this.relay()
    return this.drain()
  }

  /**
   * An entry from this node's user. It is signed, then persisted durably before anything else:
   * the caller acknowledges it only once the effects up to that write are done.
   */
  submit(body: EntryBody, now: number, nonce: number): SubmitResult {
    this.now = now
    const error = entryBodyError(body)
    if (error !== null) return { ok: false, error }
    if (!this.isMember(this.id)) {
      return { ok: false, error: 'this machine is not a member of the ledger, so it cannot submit' }
    }
    if (!Number.isSafeInteger(nonce) || nonce < 0) return { ok: false, error: 'bad nonce' }
    const entry = signEntry(
      this.init.keypair,
      { ledger: this.ledger, author: this.id, nonce, time: Math.floor(now), body },
      this.init.verifier,
    )
    if (this.mempool.has(entry.id) || this.state.isCommitted(entry.id)) {
      return { ok: true, id: entry.id, effects: [] }
    }
    this.effects.push({ type: 'persist-entry', entry, durable: true })
    this.admit(entry)
    this.outbox.push(entry)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      this.schedule({ kind: 'flush' }, this.init.timing.batchMs)
    }
    return { ok: true, id: entry.id, effects: this.drain() }
  }

  receive(from: NodeId, message: WireMessage, now: number): ReplicaEffect[] {
    this.now = now
    switch (message.type) {
      case 'entries':
        this.receiveEntries(from, message.entries)
        break
      case 'proposal':
      case 'vote':
        this.receiveConsensus(from, message)
        break
      case 'sync-request':
        this.serveSync(from, message.from)
        break
      case 'sync-response':
        this.applySync(from, message.tip, message.blocks)
        break
    }
    return this.drain()
  }

  fire(timer: ReplicaTimer, now: number): ReplicaEffect[] {
    this.now = now
    switch (timer.kind) {
      case 'consensus':
        this.feed({ type: 'timeout', timeout: timer.timeout })
        break
      case 'relay':
        this.relay()
        this.schedule({ kind: 'relay' }, this.init.timing.relayMs)
        break
      case 'flush':
        this.flushScheduled = false
        this.flush()
        break
    }
    return this.drain()
  }

  /** The connection to a peer closed (its process died, or it left). */
  peerLost(peer: NodeId, now: number): ReplicaEffect[] {
    this.now = now
    this.feed({ type: 'peer-lost', peer })
    return this.drain()
  }

  private receiveEntries(from: NodeId, entries: readonly SignedEntry[]): void {
    for (const e of entries) {
      if (this.mempool.has(e.id) || this.state.isCommitted(e.id)) continue
      // Before anything costs a verification: refused entries stay with their author's node.
      if (this.mempool.size >= (this.init.mempoolLimit ?? MEMPOOL_LIMIT)) return
      // An author this node does not know as a member may have been added at a height it has
      // not reached: not the sender's fault, and the entry comes back in a block or a relay.
      if (!this.isMember(e.entry.author)) continue
      const error =
        e.entry.ledger !== this.ledger
          ? 'entry of another ledger'
          : verifyEntry(this.init.verifier, e)
      if (error !== null) {
        this.effects.push({ type: 'misbehaviour', peer: from, reason: error })
        continue
      }
      this.effects.push({ type: 'persist-entry', entry: e, durable: false })
      this.admit(e)
    }
  }

  private admit(entry: SignedEntry): void {
    const wasEmpty = this.mempool.size === 0
    this.mempool.set(entry.id, entry)
    this.relayQueue.set(entry.id, this.now)
    if (wasEmpty) this.feed({ type: 'work' })
  }

  private flush(): void {
    while (this.outbox.length > 0) {
      const batch = this.outbox.splice(0, ENTRY_BATCH)
      this.effects.push({ type: 'send', to: null, message: { type: 'entries', entries: batch } })
    }
  }

  // Gossip is best effort: entries still waiting after a while go out again, whoever wrote them,
  // so an entry that reached one peer before its author died is not stranded there. Each goes
  // out once per `relayMs` at most, and a tick sends at most `RELAY_LIMIT`.
  private relay(): void {
    const due: SignedEntry[] = []
    for (const [id, since] of this.relayQueue) {
      if (due.length >= RELAY_LIMIT || this.now - since < this.init.timing.relayMs) break
      due.push(this.mempool.get(id)!)
    }
    for (const e of due) {
      this.relayQueue.delete(e.id)
      this.relayQueue.set(e.id, this.now)
    }
    for (let i = 0; i < due.length; i += ENTRY_BATCH) {
      this.effects.push({
        type: 'send',
        to: null,
        message: { type: 'entries', entries: due.slice(i, i + ENTRY_BATCH) },
      })
    }
  }

  private receiveConsensus(from: NodeId, message: ConsensusMessage): void {
    const height =
      message.type === 'proposal' ? message.proposal.proposal.height : message.vote.vote.height
    const current = this.state.height + 1
    if (height < current) {
      if (message.type === 'vote' && height === this.state.height)
        this.addLatePrecommit(message.vote)
      this.pushSync(from, height)
      return
    }
    if (height > current) {
      // Only the rounds a height starting at 0 keeps: far rounds would crowd out the rest.
      const round =
        message.type === 'proposal' ? message.proposal.proposal.round : message.vote.vote.round
      if (height === current + 1 && round <= ROUNDS_AHEAD && this.future.length < FUTURE_BUFFER) {
        this.future.push({ from, message })
      }
      this.askSync(from)
      return
    }
    // Cheap checks before signatures and block execution, so a peer cannot make us verify what
    // the machine would ignore anyway.
    if (!wouldKeep(this.machine, message)) return
    if (message.type === 'vote') {
      const vote = message.vote
      if (!this.voters.validators.some((v) => v.id === vote.vote.validator)) return
      if (!verifyVote(this.init.verifier, vote)) {
        this.effects.push({ type: 'misbehaviour', peer: from, reason: 'bad vote signature' })
        return
      }
      this.feed({ type: 'vote', vote })
      return
    }
    const sp = message.proposal
    const { validators, passOver } = this.voters
    if (proposerFor(validators, current, sp.proposal.round, passOver) !== sp.proposal.proposer)
      return
    const forged = bodyMismatch(sp.block)
    if (forged !== null) {
      // A body that is not the one its hash commits to is a forged copy, not the proposer's
      // block: judge nothing by it, or the real block would inherit the verdict.
      this.effects.push({ type: 'misbehaviour', peer: from, reason: `proposal block ${forged}` })
      return
    }
    if (!verifyProposal(this.init.verifier, sp)) {
      this.effects.push({ type: 'misbehaviour', peer: from, reason: 'bad proposal signature' })
      return
    }
    this.feed({ type: 'proposal', proposal: sp, valid: this.check(sp.block) !== null })
  }

  /**
   * A precommit for the block we last committed, arriving after our quorum: it goes into the
   * commit we will record in our next proposal, so a live but slower validator is not mistaken
   * for a missing one and passed over.
   */
  private addLatePrecommit(sv: SignedVote): void {
    const c = this.lastCommit
    const v = sv.vote
    if (c === null || v.type !== 'precommit' || v.round !== c.round || v.value !== c.blockHash)
      return
    if (c.signatures.some((s) => s.validator === v.validator)) return
    if (!this.state.previousValidators().some((x) => x.id === v.validator)) return
    if (!verifyVote(this.init.verifier, sv)) return
    const signatures = [...c.signatures, { validator: v.validator, signature: sv.signature }]
    signatures.sort((a, b) => (a.validator < b.validator ? -1 : 1))
    this.lastCommit = { ...c, signatures }
  }

  /** Verifies a block proposed for the current height, once per block. */
  private check(block: Block): Execution | null {
    const hash = blockHash(block.header)
    const cached = this.checked.get(hash)
    if (cached !== undefined) return cached
    const result = verifyBlock(this.state, block, this.init.verifier)
    const execution = result.ok ? result.execution : null
    this.checked.set(hash, execution)
    return execution
  }

  /**
   * Whether another sync message may go to `peer` now: one per `syncRetryMs`. Times are kept in
   * the order they were set, so those older than that are dropped from the front and the map
   * holds only the peers of the last `syncRetryMs`, whoever sends us messages.
   */
  private due(times: Map<NodeId, number>, peer: NodeId): boolean {
    const retry = this.init.timing.syncRetryMs
    for (const [id, t] of times) {
      // A clock set back makes a time in the future: forget it rather than wait for it.
      if (this.now - t < retry && t <= this.now) break
      times.delete(id)
    }
    if (times.has(peer)) return false
    times.set(peer, this.now)
    return true
  }

  private askSync(peer: NodeId): void {
    if (!this.due(this.lastSyncAsk, peer)) return
    this.effects.push({
      type: 'send',
      to: peer,
      message: { type: 'sync-request', from: this.state.height + 1 },
    })
  }

  // A peer still voting on a height we have decided may have missed the precommits: send it the
  // blocks it lacks rather than wait for it to notice.
  private pushSync(peer: NodeId, height: number): void {
    if (!this.due(this.lastSyncPush, peer)) return
    this.serveSync(peer, height)
  }

  /**
   * An answer holds at most `SYNC_BATCH` blocks and one full block's worth of entries (but always
   * one block): about 14 MB at the entry limits, within what a decoder accepts. The newest blocks
   * come from memory; older ones are read back from the chain.
   */
  private serveSync(peer: NodeId, from: number): void {
    const blocks: SyncedBlock[] = []
    let entries = 0
    const first = this.recent[0]?.block.header.height ?? Number.POSITIVE_INFINITY
    for (let h = Math.max(1, from); h <= this.state.height && blocks.length < SYNC_BATCH; h++) {
      const b = h >= first ? this.recent[h - first]! : this.init.chain.block(h)
      if (b === null) break
      entries += b.block.entries.length
      if (blocks.length > 0 && entries > LIMITS.entriesPerBlock) break
      blocks.push(b)
    }
    if (blocks.length === 0) return
    this.effects.push({
      type: 'send',
      to: peer,
      message: { type: 'sync-response', tip: this.state.height, blocks },
    })
  }

  private applySync(from: NodeId, tip: number, blocks: readonly SyncedBlock[]): void {
    let applied = false
    for (const { block, commit } of blocks) {
      const h = block.header.height
      if (h <= this.state.height) continue
      if (h !== this.state.height + 1) break
      const error = this.syncedBlockError(block, commit)
      if (error !== null) {
        this.effects.push({ type: 'misbehaviour', peer: from, reason: `sync: ${error}` })
        break
      }
      this.commitBlock(block, commit)
      applied = true
    }
    if (!applied) return
    this.enterNextHeight()
    if (tip > this.state.height) {
      this.lastSyncAsk.delete(from)
      this.askSync(from)
    }
  }

  private syncedBlockError(block: Block, commit: Commit): string | null {
    const hash = blockHash(block.header)
    if (commit.height !== block.header.height || commit.blockHash !== hash) {
      return `commit is for ${commit.height}/${commit.blockHash.slice(0, 8)}, not this block`
    }
    const bad = commitError(
      this.init.verifier,
      commit,
      this.state.validators(),
      this.init.genesis.faultModel,
      this.ledger,
    )
    if (bad !== null) return bad
    const checked = verifyBlock(this.state, block, this.init.verifier, { decided: true })
    if (!checked.ok) return checked.error
    this.checked.set(hash, checked.execution)
    return null
  }

  /** Steps the machine with one input and everything its effects feed back, in order. */
  private feed(input: Input): void {
    this.inputs.push(input)
    if (this.inputs.length > 1) return // already draining
    while (this.inputs.length > 0) {
      const next = this.inputs[0]!
      const t = step(this.machine, next)
      this.machine = t.state
      for (const e of t.effects) this.carryOut(e)
      this.inputs.shift()
    }
  }

  private carryOut(e: Effect): void {
    switch (e.type) {
      case 'persist':
        this.effects.push({ type: 'persist-wal', wal: e.wal })
        break
      case 'broadcast-proposal':
        this.effects.push({
          type: 'send',
          to: null,
          message: { type: 'proposal', proposal: e.proposal },
        })
        break
      case 'broadcast-vote':
        this.effects.push({ type: 'send', to: null, message: { type: 'vote', vote: e.vote } })
        break
      case 'schedule':
        this.schedule(
          { kind: 'consensus', timeout: e.timeout },
          timeoutMs(e.timeout, this.init.timing),
        )
        break
      case 'get-value': {
        const { block, execution } = buildBlock({
          state: this.state,
          // Member changes held back wait in the mempool, in their order, for a later block.
          candidates: proposable(
            this.mempool.values(),
            this.state.pendingMemberChanges().length > 0,
          ),
          proposer: this.id,
          round: e.round,
          time: Math.floor(this.now),
          lastCommit: this.lastCommit,
          ...(this.init.maxBlockEntries === undefined
            ? {}
            : { maxEntries: this.init.maxBlockEntries }),
        })
        this.checked.set(blockHash(block.header), execution)
        this.inputs.push({ type: 'value', height: e.height, round: e.round, block })
        break
      }
      case 'decide':
        this.commitBlock(e.block, e.commit)
        this.enterNextHeight()
        break
      case 'equivocation':
        this.effects.push({ type: 'equivocation', validator: e.validator, height: e.height })
        break
    }
  }

  private commitBlock(block: Block, commit: Commit): void {
    const hash = blockHash(block.header)
    const outcomes = this.state.apply(block, this.checked.get(hash) ?? undefined)
    this.lastCommit = commit
    this.lastBlock = block
    this.remember({ block, commit })
    for (const o of outcomes) {
      this.mempool.delete(o.id)
      this.relayQueue.delete(o.id)
    }
    this.effects.push({ type: 'persist-block', block, commit })
    this.effects.push({ type: 'committed', block, hash, commit, outcomes })
  }

  private remember(b: SyncedBlock): void {
    this.recent.push(b)
    this.recentEntries += b.block.entries.length
    while (
      this.recent.length > 1 &&
      (this.recent.length > SYNC_BATCH || this.recentEntries > LIMITS.entriesPerBlock)
    ) {
      this.recentEntries -= this.recent.shift()!.block.entries.length
    }
  }

  /** Starts consensus on the height after the last committed block. */
  private enterNextHeight(): void {
    const height = this.state.height + 1
    const validators = this.state.validators()
    const signers = this.lastBlock?.lastCommit?.signatures.map((s) => s.validator) ?? null
    const wal = this.pendingWal?.height === height ? this.pendingWal : undefined
    if (this.pendingWal !== null && this.pendingWal.height <= height) this.pendingWal = null
    this.checked = new Map()
    const passOver = missingFrom(validators, signers)
    this.voters = { validators, passOver }
    this.feed({ type: 'start-height', height, validators, passOver, wal })
    const buffered = this.future
    this.future = []
    for (const f of buffered) this.receiveConsensus(f.from, f.message)
    if (this.mempool.size > 0) this.feed({ type: 'work' })
  }

  private isMember(id: NodeId): boolean {
    return this.state.members().some((m) => m.id === id)
  }

  private schedule(timer: ReplicaTimer, afterMs: number): void {
    this.effects.push({ type: 'schedule', timer, afterMs })
  }

  private drain(): ReplicaEffect[] {
    const out = this.effects
    this.effects = []
    return out
  }
}
