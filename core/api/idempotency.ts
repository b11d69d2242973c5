/**
 * The `Idempotency-Key` header of the submit routes (draft-ietf-httpapi-idempotency-key-header).
 * A client that lost the answer to a submission (a reset connection, a timeout, a node restart)
 * cannot know whether its entries were stored; it sends the same request with the same key, and
 * gets the first answer again while nothing is stored twice. The node keeps the key with the
 * entries, in one transaction (core/node/submit-keys.ts); this module decides, per request,
 * whether to replay, refuse or run it.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { KeyedSubmit, KeyRecord, TallyNode } from '../node/index.ts'
import { RequestError } from './requests.ts'

export const KEY_HEADER = 'idempotency-key'
/** On an answer given again from a stored key (Stripe's name; the draft names none). */
export const REPLAYED_HEADER = 'idempotent-replayed'
export const MAX_KEY_CHARS = 255
/** Printable ASCII, space included: the draft's quoted form (`"…"`) is a key like any other. */
const PRINTABLE = /^[\x20-\x7e]+$/

/** A route's answer: status, JSON body, and any headers beyond the usual ones. */
export type Reply = [status: number, body: unknown, headers?: Readonly<Record<string, string>>]

/** The answer a key keeps, made from what became of each body of the request. */
export type AnswerMaker = KeyedSubmit['answer']

/** The request's key exactly as sent, or null without one; a 400 if it is not a valid key. */
export function keyOf(req: IncomingMessage): string | null {
  const values = req.headersDistinct[KEY_HEADER]
  if (values === undefined) return null
  if (values.length !== 1) {
    throw new RequestError(400, `send one Idempotency-Key header, not ${values.length}`)
  }
  const key = values[0]!
  if (key.length < 1 || key.length > MAX_KEY_CHARS || !PRINTABLE.test(key)) {
    throw new RequestError(
      400,
      `an Idempotency-Key is 1 to ${MAX_KEY_CHARS} printable ASCII characters (a random UUID, say); this one is ${key.length === 0 ? 'empty' : key.length > MAX_KEY_CHARS ? `${key.length} long` : 'not printable ASCII'}: nothing was stored`,
    )
  }
  return key
}

/** SHA-256 of what makes two requests the same: method, path and the body's bytes. */
export function fingerprintOf(request: string, body: Uint8Array): Uint8Array {
  return createHash('sha256').update(`${request}\n`).update(body).digest()
}

/**
 * Keyed submissions: a key seen before is answered from its record, a key in use by a request
 * still running is refused, and a new key is claimed for the request until it is answered.
 */
export class KeyedRequests {
  readonly #node: TallyNode
  /** Keys of requests being answered. At most one per open connection, so bounded by them. */
  readonly #running = new Set<string>()

  constructor(node: TallyNode) {
    this.#node = node
  }

  /**
   * Runs `handle` for the request, giving it what to pass the node with its bodies when the
   * request has a key (undefined when not). `request` is the method and path (`POST /api/entries`),
   * `body` the bytes as received.
   */
  async run(
    req: IncomingMessage,
    request: string,
    body: Uint8Array,
    handle: (keyed: ((answer: AnswerMaker) => KeyedSubmit) | undefined) => Promise<Reply>,
  ): Promise<Reply> {
    const key = keyOf(req)
    if (key === null) return handle(undefined)
    const fingerprint = fingerprintOf(request, body)
    // No await between the look-up and the claim: two requests with one key cannot both pass.
    if (this.#running.has(key)) {
      throw new RequestError(
        409,
        `a request with Idempotency-Key ${JSON.stringify(key)} is still being answered: send this again once it has its answer, and you will get that answer`,
      )
    }
    const stored = this.#node.keyRecord(key)
    if (stored !== null) return replay(stored, request, fingerprint)
    this.#running.add(key)
    try {
      return await handle((answer) => ({ key, request, fingerprint, answer }))
    } finally {
      this.#running.delete(key)
    }
  }
}

/** The stored answer again if the request is the one the key was first used for; else a 422. */
function replay(stored: KeyRecord, request: string, fingerprint: Uint8Array): Reply {
  const key = JSON.stringify(stored.key)
  const when = new Date(stored.created).toISOString()
  if (stored.request !== request) {
    throw new RequestError(
      422,
      `Idempotency-Key ${key} was used for ${stored.request} at ${when}, and this is ${request}: a key stands for one request, so send a new request with a new key (nothing was stored)`,
    )
  }
  if (!Buffer.from(stored.fingerprint).equals(fingerprint)) {
    throw new RequestError(
      422,
      `Idempotency-Key ${key} was used at ${when} for a ${request} with another body: a retry sends the same body byte for byte, and a new request a new key (nothing was stored)`,
    )
  }
  return [stored.status, JSON.parse(stored.answer) as unknown, { [REPLAYED_HEADER]: 'true' }]
}
