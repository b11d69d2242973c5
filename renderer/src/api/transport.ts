/**
 * How the interface reaches its node. Two implementations carry the same requests: HTTP and a
 * WebSocket in the web mode that `tally node` serves, and a MessagePort in the desktop app. The
 * screens and their state never know which one they have.
 */
import type { ApiReply, ApiRequest, CoreDownCause } from '../../../core/api/port-protocol.ts'
import type { EventMessage } from '../../../core/api/types.ts'

// The shapes live with the MessagePort protocol, which carries them as they are, so that the
// core's end of the port and the renderer read one definition.
export type { ApiReply, ApiRequest, CoreDownCause }

/** A request the node has not answered by then counts as the node being away. */
export const REQUEST_TIMEOUT_MS = 15_000

/** Reconnect delays: quick at first (a restart takes a second or two), then every 5 s. */
const RETRY_MS = [250, 500, 1_000, 2_000, 5_000] as const

/** How long to wait before try `attempt` (0 for the first after a loss) to open the stream again. */
export function retryDelay(attempt: number): number {
  return RETRY_MS[Math.min(Math.max(0, attempt), RETRY_MS.length - 1)]!
}

/** The node could not be asked at all: it is stopped, or the link is down. */
export class NodeUnreachable extends Error {}

/** `open` once the event stream greets; `down` while it is retrying, with when it was lost. */
export type LinkState =
  | { readonly state: 'connecting' }
  | { readonly state: 'open' }
  | {
      readonly state: 'down'
      readonly since: number
      readonly retryAt: number
      /** In the desktop app, when the core's process itself is down: why, in words. */
      readonly cause?: CoreDownCause
    }

export interface EventSink {
  message(m: EventMessage): void
  link(state: LinkState): void
}

export interface Transport {
  /** Resolves with whatever status the node answered; rejects with NodeUnreachable only. */
  request(req: ApiRequest): Promise<ApiReply>
  /** Keeps an event stream open, reconnecting until the returned function is called. */
  listen(sink: EventSink): () => void
}
