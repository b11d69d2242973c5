/** The public surface of core/net. */
import './polyfill.ts'

export type { NetConfig, NetHandlers, PeerHealth, Topic, Verdict } from './host.ts'
export { Net } from './host.ts'
export { nodeIdFromPeerId, peerIdFromNodeId } from './keys.ts'
export type { RatePolicy } from './rate-limit.ts'
export { RateLimiter } from './rate-limit.ts'
