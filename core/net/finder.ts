/**
 * The network of a machine that holds no ledger yet: it finds Tally nodes (mDNS, or an address
 * typed by hand) and asks them over the join protocol. It serves nothing: it has nothing to give,
 * and a machine looking for a ledger must not look like one.
 */
import './polyfill.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerDiscovery, PeerId, PeerInfo } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { NodeId } from '../ledger/types.ts'
import { isLoopback, listenAddrs, tallyMdns, withoutLoopback } from './discovery.ts'
import { askJoin, type JoinAnswer, type JoinRequest } from './join.ts'
import { nodeIdFromPeerId, privateKeyFromSeed } from './keys.ts'
import { boundedYamux } from './muxer.ts'

export interface FinderConfig {
  readonly seed: Uint8Array
  readonly listen: readonly string[]
  readonly mdns: boolean
}

export interface Found {
  readonly id: NodeId
  readonly addrs: readonly string[]
}

interface Services extends Record<string, unknown> {
  identify: ReturnType<ReturnType<typeof identify>>
  ping: ReturnType<ReturnType<typeof ping>>
  mdns?: PeerDiscovery
}

const ASK_TIMEOUT_MS = 4000
const DIAL_TIMEOUT_MS = 4000
/** It dials out to ask; nobody needs many connections to it. */
const MAX_CONNECTIONS = 32

export class Finder {
  readonly id: NodeId
  readonly #node: Libp2p<Services>

  static async start(config: FinderConfig, onFound: (found: Found) => void): Promise<Finder> {
    const node = await createLibp2p<Services>({
      start: false,
      privateKey: await privateKeyFromSeed(config.seed),
      addresses: {
        listen: [...config.listen],
        ...(config.mdns ? { announceFilter: withoutLoopback } : {}),
      },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [boundedYamux({ maxStreamWindowBytes: 1024 * 1024, maxInboundStreams: 8 })],
      connectionGater: {
        denyDialPeer: (peer: PeerId) => nodeIdFromPeerId(peer) === null,
        denyInboundEncryptedConnection: (peer: PeerId) => nodeIdFromPeerId(peer) === null,
      },
      connectionManager: { maxConnections: MAX_CONNECTIONS, dialTimeout: DIAL_TIMEOUT_MS },
      services: {
        identify: identify(),
        ping: ping(),
        ...(config.mdns ? { mdns: tallyMdns() } : {}),
      },
    })
    const finder = new Finder(node)
    node.services.mdns?.addEventListener('peer', (evt) => {
      const found = foundOf(evt.detail)
      if (found !== null && found.id !== finder.id) onFound(found)
    })
    try {
      await node.start()
    } catch (err) {
      await Promise.resolve(node.stop()).catch(() => {})
      throw err
    }
    return finder
  }

  private constructor(node: Libp2p<Services>) {
    this.#node = node
    const id = nodeIdFromPeerId(node.peerId)
    if (id === null) throw new Error('the node key is not ed25519')
    this.id = id
  }

  addrs(): string[] {
    return listenAddrs(this.#node)
  }

  /**
   * Asks a node (its addresses, each with or without /p2p/) one join-protocol question. Resolves
   * with who answered and at which address it was reached.
   */
  async ask(
    addrs: readonly string[],
    request: JoinRequest,
  ): Promise<{ from: NodeId; addr: string; answer: JoinAnswer }> {
    const targets = addrs.map((a) => multiaddr(a))
    const named = targets.map((t) => t.getComponents().find((c) => c.name === 'p2p')?.value)[0]
    let peer: PeerId | null = named === undefined ? null : peerIdFromString(named)
    try {
      const connection = await this.#node.dial(targets, {
        signal: AbortSignal.timeout(DIAL_TIMEOUT_MS),
      })
      peer = connection.remotePeer
      const from = nodeIdFromPeerId(peer)
      if (from === null) throw new Error('not a Tally node')
      const answer = await askJoin(connection, request, ASK_TIMEOUT_MS)
      const suffix = `/p2p/${peer.toString()}`
      const remote = connection.remoteAddr.toString()
      return { from, addr: remote.endsWith(suffix) ? remote : `${remote}${suffix}`, answer }
    } finally {
      // An ask leaves nothing behind: the connection goes (a member keeps few for machines
      // outside its ledger, and an idle one would hold a slot), and so does what libp2p wrote
      // about the peer (addresses, the last dial's outcome, kept for hours): ids announced on
      // the LAN by anyone must not grow this machine's memory.
      if (peer !== null) {
        await this.#node.hangUp(peer).catch(() => {})
        await this.#node.peerStore.delete(peer).catch(() => {})
      }
    }
  }

  async stop(): Promise<void> {
    await this.#node.stop()
  }
}

function foundOf(info: PeerInfo): Found | null {
  const id = nodeIdFromPeerId(info.id)
  if (id === null) return null
  const suffix = `/p2p/${info.id.toString()}`
  const usable = info.multiaddrs.filter(
    (a: Multiaddr) => !isLoopback(a) || info.multiaddrs.every(isLoopback),
  )
  return {
    id,
    addrs: usable.map(String).map((a) => (a.endsWith(suffix) ? a : `${a}${suffix}`)),
  }
}
