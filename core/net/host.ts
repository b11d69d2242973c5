/**
 * The libp2p host of one Tally node: TCP + noise + yamux, identify and ping, gossipsub for the
 * ledger's two topics, the direct protocol, static-peer redial, optional mDNS, and peer health.
 * It deals only in bytes: the node injects decoding and validation.
 */
import './polyfill.ts'
import { randomBytes } from 'node:crypto'
import { debuglog } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import type { GossipSub } from '@libp2p/gossipsub'
import { gossipsub, TopicValidatorResult } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import { identify } from '@libp2p/identify'
import type {
  Connection,
  Libp2p,
  PeerDiscovery,
  PeerId,
  PeerInfo,
  Stream,
  StreamCloseEvent,
} from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { NodeId } from '../ledger/types.ts'
import { Direct } from './direct.ts'
import { isLoopback, listenAddrs, tallyMdns, withoutLoopback } from './discovery.ts'
import { FRAME_HEADER_BYTES } from './frames.ts'
import type { Topic } from './gossip.ts'
import {
  directProtocol,
  gossipOptions,
  membersOnlyGossip,
  newestProtocolOnly,
  onOversizedRpc,
  TOPICS,
  topicName,
} from './gossip.ts'
import type { PeerHealth } from './health.ts'
import { PeerBook } from './health.ts'
import { JOIN_PROTOCOL, type JoinAnswer, type JoinRequest, serveJoin } from './join.ts'
import {
  nodeIdFromPeerId,
  nodeIdFromPeerString,
  peerIdFromNodeId,
  privateKeyFromSeed,
} from './keys.ts'
import { boundedYamux, OversizedMuxerFrameError } from './muxer.ts'
import { Penalties } from './penalties.ts'
import { RateLimiter } from './rate-limit.ts'
import { Redialer } from './redial.ts'

export type { Topic } from './gossip.ts'
export type { PeerHealth } from './health.ts'

export type Verdict = 'accept' | 'reject' | 'ignore'

export interface NetConfig {
  /** 32-byte ed25519 seed: the ledger's signing key, so PeerId and NodeId name the same node. */
  readonly seed: Uint8Array
  /** Ledger id (hex); it names the topics and the direct protocol. */
  readonly ledger: string
  /** Multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/26650. */
  readonly listen: readonly string[]
  /** Static peers, multiaddrs with /p2p/<peer id>: dialled at start and redialled forever. */
  readonly peers: readonly string[]
  /** mDNS discovery on the LAN. Never on in tests on this machine's interfaces. */
  readonly mdns: boolean
  readonly pingIntervalMs: number
  readonly pingTimeoutMs: number
  /**
   * Direct frames (and gossip messages, unless maxGossipBytes) larger than this are rejected and
   * the sender penalised; one peer may make us hold one frame of this size.
   */
  readonly maxMessageBytes: number
  /**
   * Gossip messages larger than this are rejected and the sender penalised; maxMessageBytes if
   * absent. A peer can make us hold about this much per gossip stream, so it should be the
   * largest message the node gossips, not the largest it sends directly.
   */
  readonly maxGossipBytes?: number
  /** Validates a gossip message before gossipsub forwards it. Called once per distinct message. */
  readonly validate: (topic: Topic, data: Uint8Array, from: NodeId) => Verdict
  /**
   * Whether the peer may have anything of the ledger: a member, or one whose addition is
   * committed (it must sync before it votes). Everyone else gets the join protocol only.
   */
  readonly isMember: (id: NodeId) => boolean
  /** Answers a join-protocol request; absent, every request is refused. */
  readonly join?: (from: NodeId, addr: string, request: JoinRequest) => JoinAnswer
}

export interface NetHandlers {
  /** Accepted gossip; `from` is the peer it came from (the propagation source, not the author). */
  onGossip(topic: Topic, data: Uint8Array, from: NodeId): void
  onDirect(data: Uint8Array, from: NodeId): void
  /** First connection to the peer opened / last one closed. */
  onPeer(id: NodeId, connected: boolean): void
  /** A member told where it listens (identify, over its authenticated connection); newest first. */
  onAddrs(id: NodeId, addrs: readonly string[]): void
}

interface Services extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  mdns?: PeerDiscovery
}

const MIB = 1024 * 1024
/** Unsent direct bytes one peer may have queued before its stream is dropped. */
const DIRECT_QUEUE_BYTES = 32 * MIB
/**
 * Direct streams a peer may have open to us on one connection: it sends on one, and opens another
 * only after that one failed (its reset reaches us first, but allow for one overlapping).
 */
const DIRECT_INBOUND_STREAMS = 2
/**
 * Incomplete direct frames all peers together may make us hold, in largest frames. Only sync
 * answers and proposals come near that size; past the bound one is dropped, unpenalised (its
 * sender may be honest), and the node asks again or gets it by gossip.
 */
const DIRECT_FRAMES_IN_FLIGHT = 4
/**
 * Inbound direct frames per peer, against floods only. An honest peer sends a few consensus
 * messages per height (a proposal, two votes, their re-sends: a handful at once, after a
 * reconnect) and at most one sync request per answer it gets from us; a flood is thousands a
 * second. Each frame admitted may cost the node a sync answer, so the burst is kept small; what
 * an admitted request costs is the node's to limit (see RateLimiter in index.ts).
 */
const DIRECT_FRAMES = { ratePerSecond: 1000, burst: 200, maxKeys: 4096 } as const
/**
 * yamux: the largest stream window we grant (and so the largest data frame a peer may send us),
 * and the streams a peer may have open on one connection (a Tally peer uses about five).
 */
const MUXER = { maxStreamWindowBytes: 4 * MIB, maxInboundStreams: 16 } as const
/**
 * Connections one peer may have open to us: two when both sides dialled at once. Each costs
 * a gossip stream and yamux buffers, so a peer with more would hold more than its share.
 */
const CONNECTIONS_PER_PEER = 2
/** A peer connected this long whose gossip stream gossipsub has lost is reconnected. */
const GOSSIP_ADOPT_MS = 5000
/**
 * Connections all non-members together may hold: a machine asking to join needs one for a few
 * seconds, and each costs yamux buffers and a socket, so the LAN cannot take many.
 */
const GUEST_CONNECTIONS = 8
/** A non-member's connection is closed after this: it asks and goes, and may come back. */
const GUEST_CONNECTION_MS = 30_000
/** Join requests per non-member, and from all of them together: each may cost a disk write. */
const JOIN_RATE = { ratePerSecond: 1, burst: 4, maxKeys: 1024 } as const
const JOIN_RATE_ALL = { ratePerSecond: 20, burst: 40, maxKeys: 1 } as const
const JOIN_TIMEOUT_MS = 5000
/** On a LAN a connect takes milliseconds; a dead address should not hold a redial for long. */
const DIAL_TIMEOUT_MS = 4000
const LOOPBACK = ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128']
/**
 * Static peers are tagged so the connection pruner keeps them, but not with KEEP_ALIVE: that tag
 * makes libp2p redial at once after every disconnect, and a peer that completes the handshake
 * and then refuses us (banned, isolated) becomes a reconnect loop (measured: one every ~25 ms).
 * Our Redialer backs off instead.
 */
const STATIC_TAG = 'tally-static'

const debug = debuglog('tally-net')

export class Net {
  readonly id: NodeId
  readonly #node: Libp2p<Services>
  readonly #config: NetConfig
  readonly #handlers: NetHandlers
  readonly #state: SharedState
  readonly #book = new PeerBook()
  readonly #redial: Redialer
  readonly #direct: Direct
  readonly #topics = new Map<string, Topic>()
  readonly #gossipProtocols: ReadonlySet<string>
  readonly #connectedAt = new Map<NodeId, number>()
  readonly #peerIds = new Map<NodeId, PeerId>()
  /** Publishes run one at a time so that the backlog check before each one means something. */
  #publishing: Promise<unknown> = Promise.resolve()
  readonly #salt = randomBytes(4).readUInt32BE(0)
  readonly #joinRate = new RateLimiter(JOIN_RATE)
  readonly #joinRateAll = new RateLimiter(JOIN_RATE_ALL)
  #sequence = 0
  #tick: NodeJS.Timeout | null = null
  #stopped = false

  static async start(config: NetConfig, handlers: NetHandlers): Promise<Net> {
    checkConfig(config)
    const statics = config.peers.map(parseStaticPeer)
    const privateKey = await privateKeyFromSeed(config.seed)
    const state: SharedState = {
      isolated: new Set(),
      penalties: new Penalties(),
      connectionsTo: () => 0,
      guestConnections: () => 0,
    }
    const refused = (peer: PeerId): boolean => {
      const id = nodeIdFromPeerId(peer)
      // Only ed25519 peers can be ledger members; anything else is not a Tally node.
      return id === null || blockedFor(state, id, peer.toString()) > 0
    }
    const refusedInbound = (peer: PeerId): boolean => {
      if (refused(peer) || state.connectionsTo(peer) >= CONNECTIONS_PER_PEER) return true
      const id = nodeIdFromPeerId(peer)
      return id !== null && !config.isMember(id) && state.guestConnections() >= GUEST_CONNECTIONS
    }
    const node = await createLibp2p<Services>({
      start: false,
      privateKey,
      addresses: {
        listen: [...config.listen],
        ...(config.mdns ? { announceFilter: withoutLoopback } : {}),
      },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [boundedYamux(MUXER)],
      connectionGater: {
        denyDialPeer: refused,
        denyInboundEncryptedConnection: refusedInbound,
        denyOutboundEncryptedConnection: refused,
      },
      connectionManager: {
        // Nothing carries KEEP_ALIVE (see STATIC_TAG), so libp2p's reconnect queue stays idle.
        reconnectRetries: 0,
        dialTimeout: DIAL_TIMEOUT_MS,
        // All peers of a single-machine demo share 127.0.0.1, which would trip the per-host
        // inbound rate limit (5 connections a second) when they restart together.
        allow: LOOPBACK,
      },
      connectionMonitor: {
        pingInterval: config.pingIntervalMs,
        // The timeout adapts to measured round trips but stays within [t, 2t], so an unplugged
        // peer is noticed within about one interval plus one timeout.
        pingTimeout: { minTimeout: config.pingTimeoutMs, maxTimeout: 2 * config.pingTimeoutMs },
        abortConnectionOnPingFailure: true,
      },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub(
          gossipOptions({
            ledger: config.ledger,
            maxMessageBytes: gossipBytes(config) + ENVELOPE_BYTES,
            appPenalty: (peer) => state.penalties.penalty(peer, Date.now()),
          }),
        ),
        ...(config.mdns
          ? {
              mdns: tallyMdns(),
            }
          : {}),
      },
    })
    state.connectionsTo = (peer) =>
      node.getConnections(peer).filter((c) => c.status === 'open').length
    state.guestConnections = () =>
      node.getConnections().filter((c) => {
        const id = nodeIdFromPeerId(c.remotePeer)
        return c.status === 'open' && (id === null || !config.isMember(id))
      }).length
    try {
      const net = new Net(node, config, handlers, state)
      await net.#beforeStart()
      await node.start()
      net.#afterStart(statics)
      return net
    } catch (err) {
      // A port in use fails here; what did start must not keep the process alive.
      await Promise.resolve(node.stop()).catch(() => {})
      throw err
    }
  }

  private constructor(
    node: Libp2p<Services>,
    config: NetConfig,
    handlers: NetHandlers,
    state: SharedState,
  ) {
    this.#node = node
    this.#config = config
    this.#handlers = handlers
    this.#state = state
    const id = nodeIdFromPeerId(node.peerId)
    if (id === null) throw new Error('the node key is not ed25519')
    this.id = id
    newestProtocolOnly(node.services.pubsub)
    membersOnlyGossip(node.services.pubsub, (peer) => this.#isMemberPeer(peer))
    this.#gossipProtocols = new Set(node.services.pubsub.protocols)
    this.#redial = new Redialer({
      dial: (peer, addrs) => this.#dial(peer, addrs),
      isConnected: (peer) => this.#isConnected(peer),
      blockedFor: (peer) => blockedFor(this.#state, peer, this.#peerId(peer).toString()),
      log: debug,
    })
    const largestFrame = config.maxMessageBytes + FRAME_HEADER_BYTES
    this.#direct = new Direct({
      protocol: directProtocol(config.ledger),
      maxFrameBytes: config.maxMessageBytes,
      maxQueueBytes: DIRECT_QUEUE_BYTES,
      inboundBytes: { perPeer: largestFrame, total: DIRECT_FRAMES_IN_FLIGHT * largestFrame },
      inboundFrames: DIRECT_FRAMES,
      connectionTo: (peer) => openConnection(node, peer),
      onFrame: (data, from) => this.#onDirect(data, from),
      onAbuse: (from, reason) => this.#penalisePeer(from, `direct: ${reason}`),
      log: debug,
    })
    const reported = onOversizedRpc(node.services.pubsub, (peer, err) => {
      // Gossipsub has dropped the peer's stream and forgotten it: the connection is of no use.
      this.#penalisePeer(peer, `gossip: an RPC over the bound (${err.message})`, true)
    })
    if (!reported)
      debug('this gossipsub cannot report oversized RPCs; they are dropped unpenalised')
    node.addEventListener('connection:open', (evt) => this.#watchConnection(evt.detail))
    node.addEventListener('peer:connect', (evt) => this.#onConnect(evt.detail))
    node.addEventListener('peer:disconnect', (evt) => this.#onDisconnect(evt.detail))
    node.addEventListener('peer:identify', (evt) => {
      const id = nodeIdFromPeerId(evt.detail.peerId)
      if (id === null || !config.isMember(id) || this.#stopped) return
      this.#learnAddrs(id, evt.detail.listenAddrs)
    })
    node.services.pubsub.addEventListener('gossipsub:message', (evt) => {
      const { propagationSource, msg } = evt.detail
      const topic = this.#topics.get(msg.topic)
      const from = nodeIdFromPeerId(propagationSource)
      if (!topic || !from || this.#stopped) return
      this.#book.message(from, Date.now())
      this.#call('onGossip', () => this.#handlers.onGossip(topic, unwrap(msg.data), from))
    })
    node.services.mdns?.addEventListener('peer', (evt) => this.#onDiscovered(evt.detail))
  }

  /** Validators and the direct handler go in first, so that no early peer finds them missing. */
  async #beforeStart(): Promise<void> {
    const pubsub = this.#node.services.pubsub
    for (const topic of TOPICS) {
      const name = topicName(this.#config.ledger, topic)
      this.#topics.set(name, topic)
      pubsub.topicValidators.set(name, (peer, msg) => this.#validate(topic, peer, msg.data))
    }
    await this.#node.handle(
      directProtocol(this.#config.ledger),
      (stream, connection) => {
        // A non-member's frames are never read: nothing of the ledger is decoded for it.
        if (!this.#isMemberPeer(connection.remotePeer)) stream.abort(new Error('members only'))
        else this.#direct.handleInbound(stream, connection)
      },
      { maxInboundStreams: DIRECT_INBOUND_STREAMS },
    )
    await this.#node.handle(
      JOIN_PROTOCOL,
      (stream, connection) => void this.#serveJoin(stream, connection),
      { maxInboundStreams: 1 },
    )
  }

  #afterStart(statics: readonly StaticPeer[]): void {
    // Gossipsub refuses subscriptions before it has started.
    for (const name of this.#topics.keys()) this.#node.services.pubsub.subscribe(name)
    for (const peer of statics) {
      this.#book.known(peer.id, [peer.addr], true)
      this.#redial.add(peer.id, peer.addr)
    }
    this.#tick = setInterval(() => this.#maintain(), this.#config.pingIntervalMs)
    this.#tick.unref()
  }

  /** Listening multiaddrs, each ending in /p2p/<peer id>. */
  addrs(): string[] {
    return listenAddrs(this.#node)
  }

  /**
   * Gossips `data` on `topic` and resolves to the number of peers it was sent to (0 with no
   * peers, or when the same bytes were published within the last two minutes: gossipsub drops
   * content it has seen). Publishes are serialised, and each waits (up to pingTimeoutMs) while
   * some peer's gossip backlog exceeds a few MiB, so a caller that awaits each publish cannot
   * build an unbounded queue. Throws RangeError for data over `maxPublishBytes`.
   */
  publish(topic: Topic, data: Uint8Array): Promise<number> {
    const max = this.maxPublishBytes
    if (data.length > max) {
      return Promise.reject(new RangeError(`gossip of ${data.length} bytes exceeds ${max}`))
    }
    const run = this.#publishing.then(() => this.#publishNow(topic, this.#wrap(data)))
    this.#publishing = run.catch(() => undefined)
    return run
  }

  /**
   * The largest message `publish` takes: maxGossipBytes, but never more than gossipsub can send.
   * Gossipsub length-prefixes what it sends with it-length-prefixed's default bound, 4 MiB, and
   * has no option to raise it: a larger RPC fails inside it, unreported, and reaches nobody.
   */
  get maxPublishBytes(): number {
    return Math.min(
      gossipBytes(this.#config),
      GOSSIP_RPC_BYTES - RPC_OVERHEAD_BYTES - ENVELOPE_BYTES,
    )
  }

  /**
   * Queues one frame on the peer's direct stream. False if not connected or not a member, or if the peer's
   * unsent queue would exceed its bound (the stream is then dropped; the next send reopens it).
   */
  send(to: NodeId, data: Uint8Array): boolean {
    // Nothing of the ledger goes to a non-member, whatever the caller asks.
    if (this.#stopped || !this.#config.isMember(to)) return false
    let peer: PeerId
    try {
      peer = this.#peerId(to)
    } catch {
      return false
    }
    return this.#direct.send(peer, data)
  }

  /** Bytes of unfinished direct frames held for all peers now: at most 4 of the largest. */
  heldDirectBytes(): number {
    return this.#direct.held
  }

  connected(): NodeId[] {
    const ids: NodeId[] = []
    for (const peer of this.#node.getPeers()) {
      const id = nodeIdFromPeerId(peer)
      if (id) ids.push(id)
    }
    return ids
  }

  health(): PeerHealth[] {
    this.#readLatencies()
    const pubsub = this.#node.services.pubsub
    const known = new Set(pubsub.getPeers().map(String))
    const now = Date.now()
    return this.#book.snapshot((id) => {
      const peer = this.#peerId(id).toString()
      if (known.has(peer)) return scoreOf(pubsub, peer)
      // A peer gossipsub does not know (not yet subscribed, or dropped) still shows our penalty.
      const penalty = this.#state.penalties.penalty(peer, now)
      return penalty === 0 ? 0 : -penalty
    })
  }

  /**
   * Lowers the peer's application score; a peer that keeps offending (about five times within a
   * minute) is disconnected and refused for 30 s.
   */
  penalise(peer: NodeId, reason: string): void {
    let pid: PeerId
    try {
      pid = this.#peerId(peer)
    } catch {
      return
    }
    this.#penalisePeer(pid, reason)
  }

  /** `hangUp`: disconnect now even if this offence alone does not ban the peer. */
  #penalisePeer(pid: PeerId, reason: string, hangUp = false): void {
    const id = nodeIdFromPeerId(pid)?.slice(0, 8) ?? pid.toString()
    debug(`penalise ${id}: ${reason}`)
    const banned = this.#state.penalties.add(pid.toString(), Date.now())
    if (banned) debug(`disconnect ${id}: repeated offences`)
    if (!banned && !hangUp) return
    this.#node.hangUp(pid).catch((err: unknown) => debug(`hang up failed: ${String(err)}`))
  }

  /** A connection yamux aborted on an oversized frame costs its peer; see muxer.ts. */
  #watchConnection(connection: Connection): void {
    connection.addEventListener(
      'close',
      (evt: StreamCloseEvent) => {
        if (evt.error instanceof OversizedMuxerFrameError && !this.#stopped) {
          this.#penalisePeer(connection.remotePeer, `yamux: ${evt.error.message}`)
        }
      },
      { once: true },
    )
  }

  /**
   * Dials an extra peer and remembers it for redial. With /p2p/<id> the peer is remembered even
   * if this first dial fails (the returned promise rejects; redial goes on); without it, only a
   * successful dial tells who the peer is.
   */
  async dial(addr: string): Promise<void> {
    const ma = multiaddr(addr)
    const p2p = peerOf(ma)
    if (p2p !== null) {
      const id = nodeIdFromPeerString(p2p)
      if (id === null) throw new Error(`not an ed25519 peer id: ${addr}`)
      this.#book.known(id, [addr], true)
      this.#redial.remember(id, addr)
      try {
        await this.#dial(id, [addr])
      } catch (err) {
        this.#redial.lost(id, 0)
        throw err
      }
      return
    }
    const connection = await this.#node.dial(ma)
    const id = nodeIdFromPeerId(connection.remotePeer)
    if (id === null) throw new Error(`not an ed25519 peer: ${addr}`)
    const full = ma.encapsulate(`/p2p/${connection.remotePeer.toString()}`).toString()
    this.#book.known(id, [full], true)
    this.#redial.remember(id, full)
    await this.#tagStatic(connection.remotePeer)
  }

  /** Test hook: refuse all connections with these peers and close existing ones; [] heals. */
  isolate(peers: readonly NodeId[]): void {
    this.#state.isolated.clear()
    for (const id of peers) this.#state.isolated.add(id)
    for (const id of peers) {
      let pid: PeerId
      try {
        pid = this.#peerId(id)
      } catch {
        continue
      }
      this.#node.hangUp(pid).catch((err: unknown) => debug(`hang up failed: ${String(err)}`))
    }
    // Peers no longer isolated are redialled now; those still isolated are skipped by the gater.
    this.#redial.kickAll()
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#tick) clearInterval(this.#tick)
    this.#tick = null
    this.#redial.stop()
    this.#direct.close()
    await this.#node.stop()
  }

  #validate(topic: Topic, peer: PeerId, data: Uint8Array): TopicValidatorResult {
    const from = nodeIdFromPeerId(peer)
    if (from === null) return TopicValidatorResult.Reject
    if (data.length < ENVELOPE_BYTES) return TopicValidatorResult.Reject
    // The limit is on what the node gossips, without the envelope publish puts around it.
    if (data.length - ENVELOPE_BYTES > gossipBytes(this.#config)) {
      debug(`reject ${topic} gossip of ${data.length} bytes from ${from.slice(0, 8)}`)
      return TopicValidatorResult.Reject
    }
    let verdict: Verdict
    try {
      verdict = this.#config.validate(topic, unwrap(data), from)
    } catch (err) {
      // A throwing validator is our bug, not the peer's fault: drop without penalty.
      report('gossip validator threw', err)
      return TopicValidatorResult.Ignore
    }
    if (verdict === 'accept') return TopicValidatorResult.Accept
    if (verdict === 'reject') return TopicValidatorResult.Reject
    return TopicValidatorResult.Ignore
  }

  /**
   * Prefixes a publish with this process's salt and a sequence number. Message ids are content
   * hashes and gossipsub drops for two minutes whatever id it has seen, so without this the
   * node's re-sends of its votes and waiting entries (the cure for gossip's losses) would never
   * leave. Copies of one publish relayed through the mesh keep its bytes and still dedupe.
   */
  #wrap(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(ENVELOPE_BYTES + data.length)
    const view = new DataView(out.buffer)
    view.setUint32(0, this.#salt)
    view.setUint32(4, this.#sequence++ >>> 0)
    out.set(data, ENVELOPE_BYTES)
    return out
  }

  async #publishNow(topic: Topic, data: Uint8Array): Promise<number> {
    await this.#waitForBacklog()
    if (this.#stopped) return 0
    try {
      const result = await this.#node.services.pubsub.publish(
        topicName(this.#config.ledger, topic),
        data,
      )
      return result.recipients.length
    } catch (err) {
      debug(`publish on ${topic} failed: ${String(err)}`)
      return 0
    }
  }

  async #waitForBacklog(): Promise<void> {
    const limit = Math.max(4 * MIB, 2 * this.#config.maxMessageBytes)
    const deadline = Date.now() + this.#config.pingTimeoutMs
    while (!this.#stopped && this.#worstGossipBacklog() > limit && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  #gossipStreams(connections: readonly Connection[]) {
    return connections
      .flatMap((c) => c.streams)
      .filter(
        (s) =>
          s.direction === 'outbound' &&
          s.status === 'open' &&
          this.#gossipProtocols.has(s.protocol),
      )
  }

  #worstGossipBacklog(): number {
    let worst = 0
    for (const stream of this.#gossipStreams(this.#node.getConnections())) {
      worst = Math.max(worst, stream.writeBufferLength)
    }
    return worst
  }

  /**
   * Gossipsub keeps one outbound stream per peer and never reopens it: if that stream dies (its
   * connection closed while another to the same peer stayed up, or its buffer overflowed) the
   * peer silently stops receiving gossip. A fresh connection is the cure. A peer whose backlog
   * keeps growing is cut off too, before it eats the memory.
   */
  #maintain(): void {
    if (this.#stopped) return
    this.#readLatencies()
    const now = Date.now()
    this.#state.penalties.prune(now)
    const pubsub = this.#node.services.pubsub
    const adopted = new Set(pubsub.getPeers().map(String))
    const dropAt = Math.max(32 * MIB, 8 * this.#config.maxMessageBytes)
    for (const peer of this.#node.getPeers()) {
      const id = nodeIdFromPeerId(peer)
      const since = id ? this.#connectedAt.get(id) : undefined
      if (!id || since === undefined) continue
      if (!this.#config.isMember(id)) {
        if (now - since < GUEST_CONNECTION_MS) continue
        debug(`close ${id.slice(0, 8)}: a non-member connected for ${now - since} ms`)
        this.#node.hangUp(peer).catch((err: unknown) => debug(`hang up failed: ${String(err)}`))
        continue
      }
      if (now - since < GOSSIP_ADOPT_MS) continue
      const streams = this.#gossipStreams(this.#node.getConnections(peer))
      const backlog = Math.max(0, ...streams.map((s) => s.writeBufferLength))
      let problem: string | null = null
      if (!adopted.has(peer.toString())) problem = 'not known to gossipsub'
      else if (streams.length === 0) problem = 'no gossip stream'
      else if (backlog > dropAt) problem = `gossip backlog of ${backlog} bytes`
      if (problem === null) continue
      debug(`reconnect ${id.slice(0, 8)}: ${problem}`)
      this.#connectedAt.set(id, now)
      this.#node.hangUp(peer).catch((err: unknown) => debug(`hang up failed: ${String(err)}`))
    }
  }

  #readLatencies(): void {
    for (const connection of this.#node.getConnections()) {
      const id = nodeIdFromPeerId(connection.remotePeer)
      if (id && connection.rtt !== undefined) this.#book.latency(id, connection.rtt)
    }
  }

  #onConnect(peer: PeerId): void {
    const id = nodeIdFromPeerId(peer)
    if (id === null || this.#stopped) return
    const now = Date.now()
    this.#connectedAt.set(id, now)
    this.#book.connected(id, now)
    if (this.#redial.has(id)) {
      this.#tagStatic(peer).catch((err: unknown) => debug(`tag failed: ${String(err)}`))
    }
    this.#call('onPeer', () => this.#handlers.onPeer(id, true))
  }

  #onDisconnect(peer: PeerId): void {
    const id = nodeIdFromPeerId(peer)
    if (id === null || this.#stopped) return
    const now = Date.now()
    const lasted = now - (this.#connectedAt.get(id) ?? now)
    this.#connectedAt.delete(id)
    this.#book.disconnected(id, now)
    this.#direct.forget(peer)
    this.#call('onPeer', () => this.#handlers.onPeer(id, false))
    this.#redial.lost(id, lasted)
  }

  #onDirect(data: Uint8Array, from: PeerId): void {
    const id = nodeIdFromPeerId(from)
    if (id === null || this.#stopped) return
    this.#book.message(id, Date.now())
    this.#call('onDirect', () => this.#handlers.onDirect(data, id))
  }

  /**
   * A member found on the LAN is dialled where mDNS says it is. Only members are dialled (a
   * machine without a ledger dials us to ask), and only by the smaller id, so a pair that finds
   * each other gets one connection, not two.
   */
  #onDiscovered(info: PeerInfo): void {
    const id = nodeIdFromPeerId(info.id)
    if (id === null || id === this.id || this.#stopped || !this.#config.isMember(id)) return
    // Only dialled, never remembered: anyone on the LAN can announce addresses under a member's
    // id. What the member itself says once connected (identify) is what is kept.
    if (this.id > id || this.#isConnected(id)) return
    if (blockedFor(this.#state, id, info.id.toString()) > 0) return
    this.#node.peerStore
      .merge(info.id, { multiaddrs: info.multiaddrs })
      .then(() => this.#node.dial(info.id))
      .catch((err: unknown) => debug(`mdns dial ${id.slice(0, 8)} failed: ${String(err)}`))
  }

  async #dial(id: NodeId, addrs: readonly string[]): Promise<void> {
    const targets: Multiaddr[] = addrs.map((a) => multiaddr(a))
    const connection = await this.#node.dial(targets)
    if (nodeIdFromPeerId(connection.remotePeer) !== id) {
      throw new Error(`dialled ${id.slice(0, 8)} but reached ${connection.remotePeer.toString()}`)
    }
    await this.#tagStatic(connection.remotePeer)
  }

  async #tagStatic(peer: PeerId): Promise<void> {
    await this.#node.peerStore.merge(peer, { tags: { [STATIC_TAG]: { value: 100 } } })
  }

  #isMemberPeer(peer: PeerId): boolean {
    const id = nodeIdFromPeerId(peer)
    return id !== null && this.#config.isMember(id)
  }

  /** Where a member listens now, newest first, without loopback unless that is all it has. */
  #learnAddrs(id: NodeId, addrs: readonly Multiaddr[]): void {
    const suffix = `/p2p/${this.#peerId(id).toString()}`
    const usable = addrs
      .filter((a) => !isLoopback(a) || addrs.every(isLoopback))
      .map(String)
      .map((a) => (a.endsWith(suffix) ? a : `${a}${suffix}`))
    if (usable.length === 0) return
    this.#book.known(id, [...usable].reverse())
    for (const addr of [...usable].reverse()) this.#redial.remember(id, addr)
    this.#call('onAddrs', () => this.#handlers.onAddrs(id, usable))
  }

  async #serveJoin(stream: Stream, connection: Connection): Promise<void> {
    const id = nodeIdFromPeerId(connection.remotePeer)
    const now = Date.now()
    const answer = this.#config.join
    if (id === null || answer === undefined || this.#stopped) {
      stream.abort(new Error('no join here'))
      return
    }
    const tooOften = !this.#joinRate.take(id, now) || !this.#joinRateAll.take('all', now)
    await serveJoin(
      stream,
      (request) =>
        tooOften
          ? { type: 'refused', reason: 'asked too often; ask again in a few seconds' }
          : answer(id, connection.remoteAddr.toString(), request),
      JOIN_TIMEOUT_MS,
    )
  }

  /**
   * Membership changed: a peer that is no longer a member loses its connections (and with them
   * its gossip and direct streams) and is not redialled; one that became a member is redialled
   * once it is known where.
   */
  membersChanged(): void {
    if (this.#stopped) return
    // A member retired while disconnected (the usual way) is in no connection, only here.
    for (const id of this.#redial.ids()) if (!this.#config.isMember(id)) this.#redial.forget(id)
    for (const peer of this.#node.getPeers()) {
      const id = nodeIdFromPeerId(peer)
      if (id === null || this.#config.isMember(id)) continue
      this.#redial.forget(id)
      this.#node.hangUp(peer).catch((err: unknown) => debug(`hang up failed: ${String(err)}`))
    }
  }

  #isConnected(id: NodeId): boolean {
    return this.#node.getConnections(this.#peerId(id)).some((c) => c.status === 'open')
  }

  #peerId(id: NodeId): PeerId {
    let peer = this.#peerIds.get(id)
    if (!peer) {
      peer = peerIdFromNodeId(id)
      // Bounded: ids come from the node (members, configured peers), but never let it grow forever.
      if (this.#peerIds.size >= 4096) this.#peerIds.clear()
      this.#peerIds.set(id, peer)
    }
    return peer
  }

  /** A handler that throws is a bug in the node; it must not take the libp2p event loop down. */
  #call(name: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      report(`${name} handler threw`, err)
    }
  }
}

interface SharedState {
  readonly isolated: Set<NodeId>
  readonly penalties: Penalties
  /** Open connections to the peer; set once the libp2p node exists. */
  connectionsTo: (peer: PeerId) => number
  /** Open connections of non-members, all together. */
  guestConnections: () => number
}

interface StaticPeer {
  readonly id: NodeId
  readonly addr: string
}

function checkConfig(config: NetConfig): void {
  // The ledger id goes into topic and protocol names; anything but hex could reshape them.
  if (!/^[0-9a-f]+$/.test(config.ledger)) throw new Error(`ledger id is not hex: ${config.ledger}`)
  for (const key of ['pingIntervalMs', 'pingTimeoutMs', 'maxMessageBytes'] as const) {
    const value = config[key]
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${key} must be > 0: ${value}`)
  }
  const gossip = config.maxGossipBytes
  if (gossip !== undefined && (!Number.isSafeInteger(gossip) || gossip <= 0)) {
    throw new Error(`maxGossipBytes must be > 0: ${gossip}`)
  }
  // Direct frames carry a 4-byte length.
  if (config.maxMessageBytes > 0xffff_ffff) throw new Error('maxMessageBytes must fit in 32 bits')
}

function blockedFor(state: SharedState, id: NodeId, peer: string): number {
  if (state.isolated.has(id)) return Number.POSITIVE_INFINITY
  return state.penalties.banLeft(peer, Date.now())
}

function parseStaticPeer(addr: string): StaticPeer {
  const p2p = peerOf(multiaddr(addr))
  const id = p2p === null ? null : nodeIdFromPeerString(p2p)
  if (id === null) throw new Error(`a static peer needs /p2p/<ed25519 peer id>: ${addr}`)
  return { id, addr }
}

function peerOf(ma: Multiaddr): string | null {
  const component = ma.getComponents().find((c) => c.name === 'p2p')
  return component?.value ?? null
}

function openConnection(node: Libp2p<Services>, peer: PeerId): Connection | undefined {
  return node.getConnections(peer).find((c) => c.status === 'open')
}

function gossipBytes(config: NetConfig): number {
  return config.maxGossipBytes ?? config.maxMessageBytes
}

function scoreOf(pubsub: GossipSub, peer: string): number {
  // getScore is on gossipsub's implementation, not on the interface its factory returns.
  const scored = pubsub as GossipSub & { getScore?: (peer: string) => number }
  return typeof scored.getScore === 'function' ? scored.getScore(peer) : 0
}

function report(what: string, err: unknown): void {
  console.error(`tally net: ${what}:`, err)
}

/** Gossipsub's bound on an RPC it sends (it-length-prefixed's MAX_DATA_LENGTH). */
const GOSSIP_RPC_BYTES = 4 * MIB
/** The RPC around one published message: topic, protobuf tags and lengths; generously. */
const RPC_OVERHEAD_BYTES = 16 * 1024

/** Bytes of the publish envelope: a 4-byte salt and a 4-byte sequence number (see #wrap). */
const ENVELOPE_BYTES = 8

function unwrap(data: Uint8Array): Uint8Array {
  return data.subarray(ENVELOPE_BYTES)
}
