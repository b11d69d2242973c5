/**
 * How the interface reaches its node. Two implementations carry the same requests: HTTP and a
 * WebSocket in the web mode that `tally node` serves, and a MessagePort in the desktop app. The
 * screens and their state never know which one they have.
 */
import type { EventMessage } from '../../../core/api/types.ts'

export interface ApiRequest {
  readonly method: 'GET' | 'POST'
  /** Path and query under the node's root, e.g. `/api/entries?status=committed`. */
  readonly path: string
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
}

export interface ApiReply {
  readonly status: number
  /** Parsed JSON, or null when the answer had no JSON body. */
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>
}

/** The node could not be asked at all: it is stopped, or the link is down. */
export class NodeUnreachable extends Error {}

/** `open` once the event stream greets; `down` while it is retrying, with when it was lost. */
export type LinkState =
  | { readonly state: 'connecting' }
  | { readonly state: 'open' }
  | { readonly state: 'down'; readonly since: number; readonly retryAt: number }

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
