/**
 * Gossipsub settings for Tally. Entries and votes are signed by the application, so gossipsub's
 * own signing is off and a message's id is the SHA-256 of its bytes: every node receives each
 * message from several peers, and the content id lets it drop the copies before validating them.
 */
import './polyfill.ts'
import { hash } from 'node:crypto'
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub'
import { StrictNoSign } from '@libp2p/gossipsub'
import type {
  PeerScoreParams,
  PeerScoreThresholds,
  TopicScoreParams,
} from '@libp2p/gossipsub/score'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import type { FastMsgIdFn, MsgIdFn } from '@libp2p/gossipsub/types'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { sha256 } from '../ledger/crypto.ts'

export type Topic = 'entries' | 'consensus'
export const TOPICS: readonly Topic[] = ['entries', 'consensus']

export function topicName(ledger: string, topic: Topic): string {
  return `/tally/${ledger}/${topic}/1`
}

export function directProtocol(ledger: string): string {
  return `/tally/${ledger}/direct/1`
}

const msgIdFn: MsgIdFn = (msg) => sha256(msg.data)
// Seen before any decoding, so a duplicate costs one hash and nothing else.
const fastMsgIdFn: FastMsgIdFn = (msg) => hash('sha256', msg.data ?? new Uint8Array(0), 'base64')

/**
 * Only invalid messages cost score. Delivery-rate penalties (P3, P3b) are off: an office ledger
 * is quiet for minutes at a time, and a quiet peer is not a bad one. A rejected message costs
 * more than a first delivery earns, and the count decays (×0.9 per second) so a burst of garbage
 * graylists a peer for seconds, not forever.
 */
const TOPIC_SCORE: Partial<TopicScoreParams> = {
  topicWeight: 1,
  timeInMeshWeight: 0,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 1,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 10,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -4,
  invalidMessageDeliveriesDecay: 0.9,
}

const THRESHOLDS: Partial<PeerScoreThresholds> = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 100,
  opportunisticGraftThreshold: 1,
}

/**
 * Room in an RPC besides its one message: topic, protobuf framing, and the control messages
 * gossipsub piggybacks (IHAVE lists of up to 5,000 ids per topic, about 170 KB each).
 */
const RPC_OVERHEAD_BYTES = 1024 * 1024

/**
 * The largest RPC read from a peer: one message of the largest size and its overhead. Gossipsub
 * buffers an RPC whole before decoding it, so this is what a peer can make us hold per gossip
 * stream. Publishes and forwards are one message an RPC; only an IWANT answer packs several,
 * and in a mesh of up to Dhi (12) peers, every subscriber is a mesh peer and no IHAVE/IWANT is
 * exchanged. A larger RPC is refused at its length prefix and the sender penalised.
 */
export function maxRpcBytes(maxMessageBytes: number): number {
  return maxMessageBytes + RPC_OVERHEAD_BYTES
}

/**
 * Gossip streams a peer may have open to us on one connection. Gossipsub sends on one stream
 * per peer and opens a new one only after the old one closed, so an honest peer has one.
 */
const GOSSIP_INBOUND_STREAMS = 1

export interface GossipSettings {
  readonly ledger: string
  /** Largest gossip message on the wire, envelope included. */
  readonly maxMessageBytes: number
  /** The application's penalty for a peer (by PeerId string), ≥ 0. */
  readonly appPenalty: (peer: string) => number
}

export function gossipOptions(settings: GossipSettings): Partial<GossipsubOpts> {
  const topics: Record<string, TopicScoreParams> = {}
  for (const topic of TOPICS) {
    topics[topicName(settings.ledger, topic)] = createTopicScoreParams(TOPIC_SCORE)
  }
  const scoreParams: Partial<PeerScoreParams> = {
    topics,
    topicScoreCap: 10,
    appSpecificScore: (peer) => -settings.appPenalty(peer),
    appSpecificWeight: 1,
    // Every peer of a single-machine demo or test is 127.0.0.1; on a LAN each has its own IP.
    IPColocationFactorWhitelist: new Set(['127.0.0.1', '::1']),
    behaviourPenaltyWeight: -1,
    behaviourPenaltyDecay: 0.5,
    decayInterval: 1000,
  }
  return {
    globalSignaturePolicy: StrictNoSign,
    msgIdFn,
    fastMsgIdFn,
    emitSelf: false,
    floodPublish: true,
    fallbackToFloodsub: false,
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    allowedTopics: TOPICS.map((t) => topicName(settings.ledger, t)),
    maxInboundDataLength: maxRpcBytes(settings.maxMessageBytes),
    maxInboundStreams: GOSSIP_INBOUND_STREAMS,
    scoreParams,
    scoreThresholds: THRESHOLDS,
  }
}

/**
 * Leaves gossipsub speaking its newest protocol version only. Each version is its own handler
 * with its own limit of inbound streams, so with three versions a peer could hold three RPC
 * buffers per connection; every Tally node runs the same gossipsub and speaks the newest. Call
 * before the node starts: gossipsub registers its handlers then.
 */
export function newestProtocolOnly(pubsub: GossipSub): void {
  pubsub.protocols = pubsub.protocols.slice(0, 1)
}

/**
 * Keeps gossipsub from knowing any peer that is not a member: it neither reads a non-member's
 * stream (its subscriptions, its messages) nor opens one to it (ours), so a non-member that
 * subscribes to the ledger's topics is never sent anything, and what it publishes is never
 * decoded. Gossipsub binds these two methods when it starts, so they are replaced before
 * (TypeScript-private, like handlePeerReadStreamError below).
 */
export function membersOnlyGossip(pubsub: GossipSub, isMember: (peer: PeerId) => boolean): void {
  const target = pubsub as unknown as {
    onIncomingStream?: (stream: Stream, connection: Connection) => void
    onPeerConnected?: (peer: PeerId, connection: Connection) => void
  }
  const incoming = target.onIncomingStream
  const connected = target.onPeerConnected
  if (typeof incoming !== 'function' || typeof connected !== 'function') {
    throw new Error('this gossipsub cannot be kept to members: onIncomingStream is missing')
  }
  target.onIncomingStream = (stream, connection) => {
    if (isMember(connection.remotePeer)) incoming.call(pubsub, stream, connection)
    else stream.abort(new Error('members only'))
  }
  target.onPeerConnected = (peer, connection) => {
    if (isMember(peer)) connected.call(pubsub, peer, connection)
  }
}

/** it-length-prefixed's errors for a length prefix over the bound, or one too long to read. */
const OVERSIZED = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError'])

/**
 * Calls `report` when a peer sends an RPC longer than maxInboundDataLength. Gossipsub drops such
 * a peer's stream and forgets the peer, but costs it nothing. Its only way to tell is
 * `handlePeerReadStreamError`, a method its source keeps separate so that it can be observed
 * (TypeScript-private); false if this gossipsub has none, and then nothing is reported.
 */
export function onOversizedRpc(
  pubsub: GossipSub,
  report: (peer: PeerId, error: Error) => void,
): boolean {
  const target = pubsub as unknown as {
    handlePeerReadStreamError?: (err: unknown, peer: PeerId) => void
  }
  const original = target.handlePeerReadStreamError
  if (typeof original !== 'function') return false
  target.handlePeerReadStreamError = (err: unknown, peer: PeerId) => {
    if (err instanceof Error && OVERSIZED.has(err.name)) report(peer, err)
    original.call(pubsub, err, peer)
  }
  return true
}
