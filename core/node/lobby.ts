/**
 * A machine whose data folder holds no ledger: it has its key and settings, looks for ledgers on
 * the LAN, and waits for its user to create one or to ask to join one. It neither votes nor
 * stores anything of a ledger until then. When it has a genesis (made here, or handed over by a
 * member once its addition is committed) it says so through `ready`, and the caller starts the
 * node proper on the same folder.
 */
import { hostname } from 'node:os'
import { dirname, resolve } from 'node:path'
import { generateKeypair, keypairFromSeed } from '../ledger/crypto.ts'
import { decodeGenesis, encodeGenesis } from '../ledger/encoding.ts'
import { ledgerId } from '../ledger/hashing.ts'
import { genesisError } from '../ledger/rules.ts'
import type { FaultModel, Genesis, NodeId } from '../ledger/types.ts'
import { Finder, type Found } from '../net/finder.ts'
import { MAX_MACHINE_NAME } from '../net/join.ts'
import { nodeIdFromPeerString } from '../net/keys.ts'
import type { Store } from '../store/store.ts'
import {
  DEFAULT_SETTINGS,
  type NodeSettings,
  readSettings,
  type SettingsOverrides,
  settingsInEffect,
} from './settings.ts'

/** How often the lobby asks what it found, and asks again after its join request. */
export const LOBBY_POLL_MS = 2000
/** A ledger not heard from for this long is no longer listed. */
const FOUND_TTL_MS = 30_000
/** Nodes the lobby keeps asking; mDNS on a busy LAN must not make the list grow without end. */
const MAX_CANDIDATES = 256
const JOINING_META = 'joining'

export interface FoundLedger {
  readonly ledger: string
  readonly name: string
  readonly members: number
  readonly online: number
  readonly since: number
  readonly seenAt: number
}

export type JoinStatus = 'asking' | 'pending' | 'denied' | 'full' | 'approved'

export interface Joining {
  readonly ledger: string
  readonly ledgerName: string
  readonly status: JoinStatus
  readonly reason: string | null
  readonly since: number
  /** Nodes of the ledger to ask, newest first: given by hand, or answered for it. */
  readonly addrs: readonly string[]
}

interface Candidate {
  addrs: readonly string[]
  /** When mDNS last saw it, or Infinity for an address given by hand. */
  seenAt: number
  /** The ledger it answered for, with the answer. */
  ledger: FoundLedger | null
  askedAt: number
}

export class NoLedgerError extends Error {}

export class Lobby {
  readonly id: NodeId
  /** The settings as stored in the data folder. */
  readonly settings: NodeSettings
  /** The settings this run goes by: the stored ones with the command line's overrides. */
  readonly effectiveSettings: NodeSettings
  /** The data folder, as an absolute path. */
  readonly dataDir: string
  readonly #store: Store
  readonly #finder: Finder
  readonly #candidates = new Map<string, Candidate>()
  readonly #ready: Promise<void>
  #resolveReady: () => void = () => {}
  #joining: Joining | null
  #timer: NodeJS.Timeout | null = null
  #stopped = false
  readonly #onChange: () => void

  /**
   * Opens the lobby on `store` (which it does not close: the caller owns it). Makes the
   * machine's key on first use; it never changes after.
   */
  static async start(
    store: Store,
    opts: {
      readonly listen?: readonly string[]
      readonly peers?: readonly string[]
      readonly mdns?: boolean
      readonly onChange?: () => void
    },
  ): Promise<Lobby> {
    let seed = store.getMeta('node-seed')
    if (seed === null) {
      seed = generateKeypair().seed
      store.setMeta('node-seed', seed)
    }
    // The machine's name goes into its join requests and, once a member, into its status: it
    // is written down once, so the node shows the name the members approved.
    if (readSettings(store.settings()).name.trim() === '')
      store.setSetting('name', machineName(DEFAULT_SETTINGS))
    const settings = readSettings(store.settings())
    let lobby: Lobby | null = null
    const finder = await Finder.start(
      { seed, listen: opts.listen ?? settings.listen, mdns: opts.mdns ?? settings.mdns },
      (found) => {
        if (lobby !== null) lobby.#found(found)
      },
    )
    lobby = new Lobby(store, finder, settings, opts, opts.onChange ?? (() => {}))
    for (const addr of opts.peers ?? []) lobby.#candidate(addr, [addr], Number.POSITIVE_INFINITY)
    lobby.#poll()
    return lobby
  }

  private constructor(
    store: Store,
    finder: Finder,
    settings: NodeSettings,
    overrides: SettingsOverrides,
    onChange: () => void,
  ) {
    this.#store = store
    this.#finder = finder
    this.settings = settings
    this.effectiveSettings = settingsInEffect(settings, overrides)
    this.dataDir = resolve(dirname(store.file))
    this.#onChange = onChange
    this.id = keypairFromSeed(store.getMeta('node-seed')!).id
    this.#ready = new Promise((resolve) => {
      this.#resolveReady = resolve
    })
    this.#joining = readJoining(store)
    for (const addr of this.#joining?.addrs ?? []) {
      this.#candidate(addr, [addr], Number.POSITIVE_INFINITY)
    }
  }

  /** Resolves once the store holds a genesis; then stop the lobby and start the node. */
  get ready(): Promise<void> {
    return this.#ready
  }

  /** The machine's name as members will see it. */
  get name(): string {
    return machineName(this.settings)
  }

  addrs(): string[] {
    return this.#finder.addrs()
  }

  ledgers(): FoundLedger[] {
    const now = Date.now()
    const byLedger = new Map<string, FoundLedger>()
    for (const c of this.#candidates.values()) {
      const l = c.ledger
      if (l === null || now - l.seenAt > FOUND_TTL_MS) continue
      const seen = byLedger.get(l.ledger)
      if (seen === undefined || seen.seenAt < l.seenAt) byLedger.set(l.ledger, l)
    }
    return [...byLedger.values()].sort((a, b) => a.name.localeCompare(b.name) || a.since - b.since)
  }

  joining(): Joining | null {
    return this.#joining
  }

  /** Makes a ledger with this machine as its only member. */
  create(name: string, faultModel: FaultModel = 'crash'): void {
    this.#stillWaiting()
    const genesis: Genesis = {
      name: name.trim(),
      time: Date.now(),
      faultModel,
      members: [{ id: this.id, name: this.name }],
      assets: [],
    }
    const bad = genesisError(genesis)
    if (bad !== null) throw new NoLedgerError(`cannot create this ledger: ${bad}`)
    this.#store.transaction(() => {
      this.#store.setMeta('genesis', encodeGenesis(genesis))
      this.#store.deleteMeta(JOINING_META)
    })
    this.#finish()
  }

  /**
   * Asks to join a ledger: one found on the LAN (`ledger`), or the one held by the node at
   * `addr`. The request is kept on disk and asked again until a member decides.
   */
  async join(target: { readonly ledger?: string; readonly addr?: string }): Promise<Joining> {
    this.#stillWaiting()
    let ledger: FoundLedger
    let addrs: string[]
    if (target.addr !== undefined) {
      const asked = await this.#finder
        .ask([target.addr], { type: 'hello' })
        .catch((err: unknown) => {
          throw new NoLedgerError(`no Tally node answered at ${target.addr}: ${message(err)}`)
        })
      if (asked.answer.type !== 'info') {
        throw new NoLedgerError(`the node at ${target.addr} holds no ledger to join`)
      }
      ledger = { ...asked.answer.info, seenAt: Date.now() }
      addrs = [asked.addr]
      this.#candidate(asked.from, [asked.addr], Number.POSITIVE_INFINITY).ledger = ledger
    } else if (target.ledger !== undefined) {
      const found = this.ledgers().find((l) => l.ledger === target.ledger)
      if (found === undefined) {
        throw new NoLedgerError(
          `no node of ledger ${target.ledger.slice(0, 8)} is in sight; give a node's address instead`,
        )
      }
      ledger = found
      addrs = this.#nodesOf(found.ledger).flatMap((c) => c.addrs.slice(0, 2))
    } else {
      throw new NoLedgerError('give the ledger to join, or the address of one of its nodes')
    }
    this.#stillWaiting()
    this.#joining = {
      ledger: ledger.ledger,
      ledgerName: ledger.name,
      status: 'asking',
      reason: null,
      since: Date.now(),
      addrs: addrs.slice(0, 16),
    }
    this.#store.setMeta(JOINING_META, new TextEncoder().encode(JSON.stringify(this.#joining)))
    this.#onChange()
    await this.#askToJoin()
    return this.#joining
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    await this.#finder.stop()
  }

  #stillWaiting(): void {
    if (this.#stopped) throw new NoLedgerError('this machine has its ledger already')
  }

  #finish(): void {
    this.#joining = this.#joining === null ? null : { ...this.#joining, status: 'approved' }
    this.#resolveReady()
    this.#onChange()
  }

  #found(found: Found): void {
    if (this.#stopped) return
    const known = this.#candidates.has(found.id)
    const c = this.#candidate(found.id, found.addrs, Date.now())
    // A node seen for the first time is asked at once: a user waiting on the list should not
    // wait for the next round as well.
    if (!known) void this.#hello(c).then(() => this.#onChange())
  }

  #candidate(key: string, addrs: readonly string[], seenAt: number): Candidate {
    const id = idOf(addrs) ?? key
    let c = this.#candidates.get(id)
    if (c === undefined) {
      if (this.#candidates.size >= MAX_CANDIDATES) this.#forgetOldest()
      c = { addrs: [], seenAt, ledger: null, askedAt: 0 }
      this.#candidates.set(id, c)
    }
    c.addrs = [...new Set([...addrs, ...c.addrs])].slice(0, 8)
    c.seenAt = Math.max(c.seenAt, seenAt)
    return c
  }

  #forgetOldest(): void {
    let oldest: string | null = null
    let at = Number.POSITIVE_INFINITY
    for (const [id, c] of this.#candidates) {
      if (c.seenAt < at) {
        at = c.seenAt
        oldest = id
      }
    }
    if (oldest !== null) this.#candidates.delete(oldest)
  }

  #nodesOf(ledger: string): Candidate[] {
    return [...this.#candidates.values()].filter((c) => c.ledger?.ledger === ledger)
  }

  #poll(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#round()
        .catch((error: unknown) => console.error('tally: the lobby failed to ask around:', error))
        .finally(() => this.#poll())
    }, LOBBY_POLL_MS)
    this.#timer.unref()
  }

  /** Asks every node in sight what it holds, then the joined ledger's nodes for the decision. */
  async #round(): Promise<void> {
    const now = Date.now()
    const asks: Promise<void>[] = []
    const joining = this.#joining
    for (const [id, c] of this.#candidates) {
      if (now - c.seenAt > FOUND_TTL_MS) {
        this.#candidates.delete(id)
        continue
      }
      // The nodes of the ledger being joined are asked about the request instead, and their
      // answer tells as much: a node's questions are rate-limited, and every one counts.
      if (joining !== null && joining.status !== 'denied' && c.ledger?.ledger === joining.ledger) {
        continue
      }
      asks.push(this.#hello(c))
    }
    await Promise.all(asks)
    if (this.#joining !== null && this.#joining.status !== 'denied') await this.#askToJoin()
    this.#onChange()
  }

  async #hello(c: Candidate): Promise<void> {
    try {
      const { answer } = await this.#finder.ask(c.addrs, { type: 'hello' })
      c.askedAt = Date.now()
      if (answer.type === 'info') c.ledger = { ...answer.info, seenAt: c.askedAt }
    } catch {
      // Gone, or not answering: it drops out of the list once its entry is old.
    }
  }

  async #askToJoin(): Promise<void> {
    const joining = this.#joining
    if (joining === null || this.#stopped) return
    // Each node once, with all of its addresses: the ones given by hand or found when the
    // request began, then those of the nodes found answering for the ledger since.
    const targets = new Map<string, string[]>()
    for (const addr of [
      ...joining.addrs,
      ...this.#nodesOf(joining.ledger).flatMap((c) => c.addrs),
    ]) {
      const key = idOf([addr]) ?? addr
      const list = targets.get(key) ?? []
      if (!list.includes(addr)) list.push(addr)
      targets.set(key, list)
    }
    let status: JoinStatus = 'asking'
    let reason: string | null = 'no node of the ledger answered yet'
    let rank = 0
    // All at once: a node that is off costs a dial timeout, which the others need not wait for.
    const request = { type: 'join', ledger: joining.ledger, name: this.name } as const
    const asked = await Promise.allSettled(
      [...targets.values()].map((addrs) => this.#finder.ask(addrs, request)),
    )
    for (const result of asked) {
      if (result.status === 'rejected') continue
      const { from, addr, answer: a } = result.value
      // An answer about the request is a sign of life too: the ledger stays in the list.
      const candidate = this.#candidates.get(from)
      if (candidate?.ledger?.ledger === joining.ledger) {
        candidate.ledger = { ...candidate.ledger, seenAt: Date.now() }
      }
      if (a.type === 'approved') {
        this.#approved(joining, a.genesis, a.addrs, addr)
        return
      }
      // Several nodes may answer differently (one has not seen the decision yet): the most
      // telling answer wins, a listed request over a denial over a full list over a refusal.
      const [r, st, why]: [number, JoinStatus, string | null] =
        a.type === 'pending'
          ? [4, 'pending', null]
          : a.type === 'denied'
            ? [3, 'denied', 'a member denied this machine']
            : a.type === 'full'
              ? [2, 'full', 'too many machines are waiting to join; this one asks again']
              : [1, 'asking', a.type === 'refused' ? a.reason : 'an unexpected answer']
      if (r > rank) {
        rank = r
        status = st
        reason = why
      }
    }
    if (this.#joining === joining) this.#joining = { ...joining, status, reason }
  }

  #approved(joining: Joining, genesisBase64: string, addrs: readonly string[], via: string): void {
    let genesis: Genesis
    const bytes = new Uint8Array(Buffer.from(genesisBase64, 'base64'))
    try {
      genesis = decodeGenesis(bytes)
    } catch {
      return
    }
    // The genesis names the ledger: a node cannot hand over another one under its name.
    if (ledgerId(genesis) !== joining.ledger) return
    // The user may have created a ledger or asked for another meanwhile, or the machine is
    // stopping.
    if (this.#stopped || this.#joining !== joining || this.#store.getMeta('genesis') !== null) {
      return
    }
    const now = Date.now()
    this.#store.transaction(() => {
      this.#store.setMeta('genesis', bytes)
      this.#store.deleteMeta(JOINING_META)
      const byId = new Map<NodeId, string[]>()
      for (const addr of [via, ...addrs]) {
        const id = idOf([addr])
        if (id === null || id === this.id) continue
        byId.set(id, [...(byId.get(id) ?? []), addr])
      }
      for (const [id, list] of byId) this.#store.rememberPeer(id, list, now)
    })
    this.#finish()
  }
}

/** The name members see: the one set in the settings, or the machine's host name. */
export function machineName(settings: NodeSettings): string {
  const name = settings.name.trim() || hostname()
  return name.slice(0, MAX_MACHINE_NAME)
}

function readJoining(store: Store): Joining | null {
  const bytes = store.getMeta(JOINING_META)
  if (bytes === null) return null
  let v: Partial<Record<keyof Joining, unknown>>
  try {
    v = JSON.parse(new TextDecoder().decode(bytes)) as typeof v
  } catch {
    return null
  }
  // Written by this code, but read as anything: a damaged record is dropped, not trusted.
  const { ledger, ledgerName, since, addrs, status } = v
  if (
    typeof ledger !== 'string' ||
    typeof ledgerName !== 'string' ||
    typeof since !== 'number' ||
    !Array.isArray(addrs) ||
    !addrs.every((a): a is string => typeof a === 'string')
  ) {
    return null
  }
  return {
    ledger,
    ledgerName,
    since,
    addrs: addrs.slice(0, 16),
    status: status === 'denied' ? 'denied' : 'asking',
    reason: null,
  }
}

function idOf(addrs: readonly string[]): NodeId | null {
  for (const a of addrs) {
    const m = /\/p2p\/([^/]+)$/.exec(a)
    const id = m === null ? null : nodeIdFromPeerString(m[1]!)
    if (id !== null) return id
  }
  return null
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
