/**
 * What `tally node` runs on a data folder: the node of its ledger, or, while the folder holds
 * none, the lobby (core/node/lobby.ts) until the user creates or joins one; then the node, on the
 * same folder and port, without a restart.
 *
 * It also keeps the machine's port: a folder whose listen setting asks for any free port (the
 * default) gets the port it was given remembered, so that members that knew it find it there
 * after an office-wide restart, with or without mDNS.
 */
import { join } from 'node:path'
import type { FaultModel } from '../ledger/types.ts'
import { Store } from '../store/store.ts'
import { Lobby, NoLedgerError } from './lobby.ts'
import { DB_FILE, type NodeEventData, type NodeOptions, TallyNode } from './node.ts'
import { readSettings } from './settings.ts'

export type MachineEvent = NodeEventData | { readonly type: 'setup' }

/** The listen setting as this machine wrote it: a port it may give up if another took it. */
const REMEMBERED_LISTEN = 'listen-remembered'

export class Machine {
  readonly #opts: NodeOptions
  readonly #listeners = new Set<(e: MachineEvent) => void>()
  #node: TallyNode | null = null
  #lobby: Lobby | null = null
  #lobbyStore: Store | null = null
  #unsubscribe: () => void = () => {}
  #stopped = false
  /** The switch from lobby to node, once it has begun. */
  #switching: Promise<void> | null = null
  /** Resolves when the lobby has handed over to the node (never, if it is stopped first). */
  #handedOver: Promise<void> = Promise.resolve()

  private constructor(opts: NodeOptions) {
    this.#opts = opts
  }

  static async start(opts: NodeOptions): Promise<Machine> {
    const machine = new Machine(opts)
    // Opened once (opening checks the whole file) and handed on to the lobby or the node.
    const store = Store.open(join(opts.dataDir, DB_FILE))
    if (store.getMeta('genesis') !== null) {
      await machine.#startNode(store)
    } else {
      try {
        await machine.#startLobby(store)
      } catch (error) {
        store.close()
        throw error
      }
    }
    return machine
  }

  get node(): TallyNode | null {
    return this.#node
  }

  get lobby(): Lobby | null {
    return this.#lobby
  }

  /** Listens to the node's events, and to `setup` when the machine creates or joins a ledger. */
  subscribe(listener: (e: MachineEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Makes a ledger with this machine as its only member; resolves once its node runs. */
  async create(name: string, faultModel?: FaultModel): Promise<void> {
    const lobby = this.#lobby
    if (lobby === null) throw new NoLedgerError('this machine has a ledger already')
    lobby.create(name, faultModel)
    await this.#handedOver
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    await this.#switching?.catch(() => {})
    this.#unsubscribe()
    await this.#stopLobby()
    await this.#node?.stop()
  }

  async #startLobby(store: Store): Promise<void> {
    const opts = this.#opts
    const settings = readSettings(store.settings())
    const remembered = store.getSetting(REMEMBERED_LISTEN)
    const start = (listen: readonly string[] | undefined) =>
      Lobby.start(store, {
        ...(listen === undefined ? {} : { listen }),
        ...(opts.peers === undefined ? {} : { peers: opts.peers }),
        ...(opts.mdns === undefined ? {} : { mdns: opts.mdns }),
        onChange: () => this.#emit({ type: 'setup' }),
      })
    let listen = opts.listen ?? settings.listen
    let lobby: Lobby
    try {
      lobby = await start(opts.listen)
    } catch (error) {
      const fresh = freePortInstead(error, opts.listen, settings.listen, remembered)
      if (fresh === null) throw error
      listen = fresh
      lobby = await start(fresh)
    }
    if (opts.listen === undefined) rememberPort(store, listen, lobby.addrs())
    this.#lobby = lobby
    this.#lobbyStore = store
    this.#handedOver = lobby.ready.then(() => {
      this.#switching = this.#switchToNode()
      return this.#switching
    })
  }

  async #switchToNode(): Promise<void> {
    // The node takes over the lobby's port: the members that approved this machine, and anyone
    // given its address, knew it there. (A port set in the settings is remembered already.)
    const port = portOf(this.#lobby?.addrs() ?? [])
    const store = this.#lobbyStore
    this.#lobbyStore = null
    await this.#stopLobby()
    if (this.#stopped || store === null) {
      store?.close()
      return
    }
    try {
      await this.#startNode(store, port)
    } catch (error) {
      this.#opts.onFatal?.(error as Error)
    }
    this.#emit({ type: 'setup' })
  }

  async #stopLobby(): Promise<void> {
    const lobby = this.#lobby
    if (lobby === null) return
    this.#lobby = null
    await lobby.stop()
    this.#lobbyStore?.close()
    this.#lobbyStore = null
  }

  /** Starts the node on `store`, which it then owns (and closes if it cannot start). */
  async #startNode(store: Store, lobbyPort?: string): Promise<void> {
    const given = this.#opts.listen
    const opts: NodeOptions =
      given !== undefined && lobbyPort !== undefined
        ? { ...this.#opts, listen: given.map((a) => a.replace(/\/tcp\/0$/, `/tcp/${lobbyPort}`)) }
        : this.#opts
    const settings = readSettings(store.settings())
    const remembered = store.getSetting(REMEMBERED_LISTEN)
    let listen = opts.listen ?? settings.listen
    let node: TallyNode
    try {
      node = await TallyNode.start(opts, store)
    } catch (error) {
      const fresh = freePortInstead(error, opts.listen, settings.listen, remembered)
      if (fresh === null) throw error
      // The failed start closed the store; this one opens it again.
      listen = fresh
      node = await TallyNode.start({ ...opts, listen: fresh })
      console.error(`tally: the remembered port is in use; this machine listens on a new one`)
    }
    if (opts.listen === undefined) rememberPort(node.store, listen, node.addrs())
    this.#node = node
    this.#unsubscribe = node.subscribe((e) => this.#emit(e))
  }

  #emit(e: MachineEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e)
      } catch (error) {
        console.error('tally: an event listener failed:', error)
      }
    }
  }
}

/**
 * The listen addresses to start with instead when the port this machine remembered is taken
 * (any free one beats not starting), or null: the error was another, or the port was not the
 * machine's own choice (given on the command line, or set by the user).
 */
function freePortInstead(
  error: unknown,
  override: readonly string[] | undefined,
  listen: readonly string[],
  remembered: unknown,
): readonly string[] | null {
  if (!inUse(error) || override !== undefined || !sameList(remembered, listen)) return null
  return listen.map((a) => a.replace(/\/tcp\/\d+$/, '/tcp/0'))
}

/**
 * Writes the port the machine was given into its listen setting, where `listen` (what it
 * started with) asked for any free one (`/tcp/0`): the next start listens there again.
 */
function rememberPort(store: Store, listen: readonly string[], addrs: readonly string[]): void {
  if (!listen.some((a) => /\/tcp\/0$/.test(a))) return
  const port = portOf(addrs)
  if (port === undefined) return
  const fixed = listen.map((a) => a.replace(/\/tcp\/0$/, `/tcp/${port}`))
  store.transaction(() => {
    store.setSetting('listen', fixed)
    store.setSetting(REMEMBERED_LISTEN, fixed)
  })
}

function inUse(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? '')}` : ''
  return /EADDRINUSE|address already in use/i.test(text)
}

function sameList(a: unknown, b: readonly string[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i])
}

function portOf(addrs: readonly string[]): string | undefined {
  return addrs.map((a) => /\/tcp\/(\d+)/.exec(a)?.[1]).find((p) => p !== undefined)
}
