/**
 * LAN discovery shared by a member's node and a machine looking for a ledger: the mDNS service
 * tag and what an address announced on a LAN may be.
 */
import './polyfill.ts'
import { type Libp2p, type PeerDiscovery, peerDiscoverySymbol } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * One tag for every Tally node, whatever its ledger: a machine without a ledger must find them
 * all, and the join protocol, not the tag, tells which ledger a node holds. It keeps us apart
 * from other libp2p software on the LAN (IPFS answers the default `_p2p._udp.local`).
 */
export const MDNS_SERVICE_TAG = '_tally._udp.local'

/** How often mDNS asks the LAN; a replugged machine is found again within this. */
export const MDNS_INTERVAL_MS = 1000

export function isLoopback(ma: Multiaddr): boolean {
  return ma
    .getComponents()
    .some(
      (c) =>
        (c.name === 'ip4' && c.value?.startsWith('127.')) ||
        (c.name === 'ip6' && c.value === '::1'),
    )
}

/** mDNS must not advertise 127.0.0.1 to the LAN, unless loopback is all there is (a demo). */
export function withoutLoopback(addrs: Multiaddr[]): Multiaddr[] {
  const lan = addrs.filter((a) => !isLoopback(a))
  return lan.length > 0 ? lan : addrs
}

/** Where a libp2p node listens, each address ending in /p2p/<its peer id>. */
export function listenAddrs(node: Libp2p): string[] {
  const suffix = `/p2p/${node.peerId.toString()}`
  return node
    .getMultiaddrs()
    .map(String)
    .map((a) => (a.endsWith(suffix) ? a : `${a}${suffix}`))
}

/**
 * mDNS under Tally's tag, kept from libp2p's own discovery wiring. libp2p merges every peer a
 * discovery service reports into its peer store, which expires entries only hours later, so
 * forged mDNS answers with fresh ids would grow every node's memory without bound. Without the
 * discovery symbol libp2p never listens; the node listens to the service's `peer` events itself
 * and keeps only what it uses (members to dial, nodes to ask, both bounded).
 */
export function tallyMdns(): (components: Parameters<ReturnType<typeof mdns>>[0]) => PeerDiscovery {
  const factory = mdns({ serviceTag: MDNS_SERVICE_TAG, interval: MDNS_INTERVAL_MS })
  return (components) => {
    const service = factory(components)
    // A class field of the service, so an own, deletable property.
    delete (service as unknown as Record<symbol, unknown>)[peerDiscoverySymbol]
    return service
  }
}
