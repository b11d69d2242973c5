/**
 * The MessagePort protocol between the interface and its core in the desktop app: Electron's main
 * process makes a MessageChannel and hands one port to the renderer (through the preload) and the
 * other to the utility process that runs the core. The renderer's `PortTransport`
 * (renderer/src/api/port-transport.ts) speaks it on one end, `bridgePort` (core/api/port-bridge.ts)
 * on the other; docs/api.md, "MessagePort", says what the core does with it.
 *
 * Types only, like core/api/types.ts, so the renderer can import them without pulling in Node
 * code. Every message is plain JSON-safe data: a port clones far more than JSON (Maps, cycles,
 * bigints), but the bridge hands requests to the HTTP API as JSON, so anything else could not
 * arrive the same.
 *
 * Every message carries `v`, the protocol version: the two ends ship together in one app, so a
 * message with another version is a bug, and the core answers it as malformed rather than guess.
 */
import type { EventMessage } from './types.ts'

/** The version this file describes. */
export type PortProtocolVersion = 1

/** One call of the API, as the renderer makes it over any transport. */
export interface ApiRequest {
  readonly method: 'GET' | 'POST'
  /** Path and query under the node's root, e.g. `/api/entries?status=committed`. */
  readonly path: string
  /** A JSON value, sent as the request's JSON body. */
  readonly body?: unknown
  /** Request headers (e.g. `idempotency-key`), names in any case; the token is not one of them. */
  readonly headers?: Readonly<Record<string, string>>
}

/** What the node answered, whatever the status. */
export interface ApiReply {
  readonly status: number
  /** Parsed JSON, or null when the answer had no JSON body. */
  readonly body: unknown
  /** Response headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * Names one request and its answer. The renderer counts up from 1 and never reuses one, so an
 * answer that arrives after its request timed out cannot be taken for another's.
 */
export type PortRequestId = number

// --- renderer → core ---------------------------------------------------------------------------

/** Ask the node: answered by exactly one `reply` or `unreachable` with the same id. */
export interface PortRequestMessage {
  readonly v: PortProtocolVersion
  readonly kind: 'request'
  readonly id: PortRequestId
  readonly request: ApiRequest
}

/**
 * Open the event stream: `event`s follow (the greeting first), and `link` says when it opens or
 * is lost. Sent again after a `link` `down` to try again: the renderer keeps the back-off, so the
 * next try it shows is the next try made. A `listen` while the stream is open changes nothing.
 */
export interface PortListenMessage {
  readonly v: PortProtocolVersion
  readonly kind: 'listen'
}

/** Close the event stream; no `event` or `link` follows until the next `listen`. */
export interface PortUnlistenMessage {
  readonly v: PortProtocolVersion
  readonly kind: 'unlisten'
}

/**
 * Flow control of the event stream: the renderer has taken `events` more `event` messages, counted
 * since its previous `ack` over every stream of this port (an `event` that arrives after an
 * `unlisten` or a `down` counts too). `PortTransport` sends one every 100 events or 250 ms after
 * the first it has not acknowledged, whichever comes first, and at once when told `link` `down`
 * or before it sends `listen`.
 *
 * The core keeps what it posted and was not acknowledged within a bound (core/api/port-bridge.ts):
 * past it, the renderer is too far behind, as the web mode's stream says with close code 1013, and
 * the core ends the stream with a `link` `down`. It opens it again on a `listen` once at most half
 * the bound is still unacknowledged, and answers an earlier `listen` with another `down`.
 */
export interface PortAckMessage {
  readonly v: PortProtocolVersion
  readonly kind: 'ack'
  /** A positive integer. */
  readonly events: number
}

export type RendererMessage =
  | PortRequestMessage
  | PortListenMessage
  | PortUnlistenMessage
  | PortAckMessage

// --- core → renderer ---------------------------------------------------------------------------

/** The node's answer to request `id`, as its HTTP API gave it (a 4xx for a malformed request). */
export interface PortReplyMessage {
  readonly v: PortProtocolVersion
  readonly kind: 'reply'
  readonly id: PortRequestId
  readonly status: number
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>
}

/** Request `id` did not reach the node, or its answer was lost: the node is stopped or away. */
export interface PortUnreachableMessage {
  readonly v: PortProtocolVersion
  readonly kind: 'unreachable'
  readonly id: PortRequestId
  /** In words, for the person looking at the screen. */
  readonly error: string
}

/** One message of the event stream, as `GET /api/events` sends it. */
export interface PortEventMessage {
  readonly v: PortProtocolVersion
  readonly kind: 'event'
  readonly message: EventMessage
}

/**
 * The event stream's state: `open` when it has greeted (sent just before the greeting's `event`),
 * `down` when it closed or could not open, once per failed try; also when the renderer fell too
 * far behind acknowledging events (`PortAckMessage`).
 */
export interface PortLinkMessage {
  readonly v: PortProtocolVersion
  readonly kind: 'link'
  readonly state: 'open' | 'down'
  /**
   * Never from the bridge: the desktop shell's relay (electron/preload/port-relay.ts) sends a
   * `down` with it while the core's process itself is not running, so the window can say why.
   */
  readonly cause?: CoreDownCause
}

/** Why the core's process is not running, in words, and whether the app is starting it again. */
export interface CoreDownCause {
  readonly text: string
  readonly restarting: boolean
}

export type CoreMessage =
  | PortReplyMessage
  | PortUnreachableMessage
  | PortEventMessage
  | PortLinkMessage

// --- the port ----------------------------------------------------------------------------------

/**
 * What a port hands its listeners: `data` is the message for `message`, absent for `close`.
 * `type` is there (every DOM and Node event has it) so that an `Event` fits this shape.
 */
export interface PortEvent {
  readonly type?: string
  readonly data?: unknown
}

/**
 * The part of a message port both ends use, so that the browser's `MessagePort`, Node's
 * `worker_threads` `MessagePort` and, wrapped, Electron's `MessagePortMain` all fit:
 * `MessagePortMain` is an EventEmitter without `addEventListener`, so the shell passes
 * `{ postMessage: (m) => p.postMessage(m), addEventListener: (t, l) => p.on(t, l),
 * start: () => p.start(), close: () => p.close() }`.
 *
 * `close` is listened for where the port has it (Node and Electron do; browsers only lately): the
 * other end is gone for good, so nothing more is waited for.
 */
export interface PortLike {
  postMessage(message: unknown): void
  addEventListener(type: 'message' | 'close', listener: (event: PortEvent) => void): void
  /** Ports that queue messages until started (browsers, Electron) need it once listened to. */
  start?(): void
  close(): void
}
