/**
 * Gossipsub settings for Tally. Entries and votes are signed by the application, so gossipsub's
 * own signing is off and a message's id is the SHA-256 of its bytes: every node receives each
 * message from several peers, and the content id lets it drop the copies before validating them.
 */
import './polyfill.ts'
import { hash } from 'node:crypto'
import type { GossipsubOpts } from '@libp2p/gossipsub'
import { StrictNoSign } from '@libp2p/gossipsub'
import type {
  PeerScoreParams,
  PeerScoreThresholds,
  TopicScoreParams,
} from '@libp2p/gossipsub/score'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import type { FastMsgIdFn, MsgIdFn } from '@libp2p/gossipsub/types'
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

/** An RPC may carry several messages (IWANT answers); one too big tears down the peer's stream. */
export function maxRpcBytes(maxMessageBytes: number): number {
  return Math.max(4 * 1024 * 1024, 4 * maxMessageBytes + 64 * 1024)
}

export interface GossipSettings {
  readonly ledger: string
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
    scoreParams,
    scoreThresholds: THRESHOLDS,
  }
}
