/**
 * The join protocol: the one thing a machine that is not a member may ask of a ledger's node.
 * One request and one answer per stream, each a length-prefixed JSON frame. It is not named
 * after a ledger, so a machine without one can ask any Tally node what it holds.
 *
 * A non-member learns the ledger's id and name, how many members it has and how many are
 * online, and the fate of its own request; only once a member has approved it (the change is
 * committed) does it get the genesis and the members' addresses, which is what it needs to
 * fetch the ledger by block sync like any member.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { FrameDecoder, frameHeader } from './frames.ts'

export const JOIN_PROTOCOL = '/tally/join/1.0.0'

/** A request is a few hundred bytes: a ledger id and a machine name. */
export const MAX_JOIN_REQUEST_BYTES = 1024
/** The largest answer: a genesis and the members' addresses. */
export const MAX_JOIN_ANSWER_BYTES = 256 * 1024
export const MAX_MACHINE_NAME = 64
/** Addresses an approval carries: enough for every member's few, no more. */
export const MAX_JOIN_ADDRS = 256
const MAX_ADDR_CHARS = 256

export type JoinRequest =
  | { readonly type: 'hello' }
  | { readonly type: 'join'; readonly ledger: string; readonly name: string }

export interface LedgerInfo {
  /** The ledger id: the hash of its genesis. */
  readonly ledger: string
  readonly name: string
  readonly members: number
  /** Members connected to the answering node, itself included. */
  readonly online: number
  /** The genesis time, ms since the epoch. */
  readonly since: number
}

export type JoinAnswer =
  | { readonly type: 'info'; readonly info: LedgerInfo }
  /** Listed for the members to decide. */
  | { readonly type: 'pending' }
  | { readonly type: 'denied' }
  /** Too many machines are waiting already; ask again later. */
  | { readonly type: 'full' }
  /** Approved: the genesis (base64 of its canonical bytes) and where the members listen. */
  | { readonly type: 'approved'; readonly genesis: string; readonly addrs: readonly string[] }
  /** Anything else: asked too often, another ledger, a malformed request. */
  | { readonly type: 'refused'; readonly reason: string }

export class JoinProtocolError extends Error {}

export function encodeJoin(value: JoinRequest | JoinAnswer): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value))
  const out = new Uint8Array(4 + body.length)
  out.set(frameHeader(body.length), 0)
  out.set(body, 4)
  return out
}

const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max
const isHex = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)
const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

export function decodeJoinRequest(bytes: Uint8Array): JoinRequest {
  const v = parse(bytes)
  if (v.type === 'hello') return { type: 'hello' }
  if (v.type === 'join' && isHex(v.ledger) && isString(v.name, MAX_MACHINE_NAME)) {
    return { type: 'join', ledger: v.ledger, name: v.name }
  }
  throw new JoinProtocolError('not a join request')
}

export function decodeJoinAnswer(bytes: Uint8Array): JoinAnswer {
  const v = parse(bytes)
  switch (v.type) {
    case 'info': {
      const i = v.info as Record<string, unknown> | null
      if (
        typeof i === 'object' &&
        i !== null &&
        isHex(i.ledger) &&
        isString(i.name, 256) &&
        isCount(i.members) &&
        isCount(i.online) &&
        isCount(i.since)
      ) {
        return {
          type: 'info',
          info: {
            ledger: i.ledger,
            name: i.name,
            members: i.members,
            online: i.online,
            since: i.since,
          },
        }
      }
      break
    }
    case 'pending':
    case 'denied':
    case 'full':
      return { type: v.type }
    case 'approved': {
      const addrs = v.addrs
      if (
        typeof v.genesis === 'string' &&
        Array.isArray(addrs) &&
        addrs.length <= MAX_JOIN_ADDRS &&
        addrs.every((a) => isString(a, MAX_ADDR_CHARS))
      ) {
        return { type: 'approved', genesis: v.genesis, addrs: addrs as string[] }
      }
      break
    }
    case 'refused':
      if (isString(v.reason, 512)) return { type: 'refused', reason: v.reason }
      break
  }
  throw new JoinProtocolError('not a join answer')
}

function parse(bytes: Uint8Array): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new JoinProtocolError('not JSON')
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new JoinProtocolError('not an object')
  }
  return v as Record<string, unknown>
}

/** Reads the first frame of `stream`, at most `limit` bytes, within `timeoutMs`. */
export async function readFrame(
  stream: Stream,
  limit: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  const decoder = new FrameDecoder(limit)
  const timer = setTimeout(
    () => stream.abort(new JoinProtocolError('no answer in time')),
    timeoutMs,
  )
  try {
    for await (const chunk of stream) {
      const frames = decoder.push(chunk.subarray())
      if (frames.length > 0) return frames[0]!
    }
  } finally {
    clearTimeout(timer)
  }
  throw new JoinProtocolError('the stream ended before a whole frame')
}

/** Sends one request on a new stream of `connection` and reads the answer. */
export async function askJoin(
  connection: Connection,
  request: JoinRequest,
  timeoutMs: number,
): Promise<JoinAnswer> {
  const stream = await connection.newStream(JOIN_PROTOCOL, {
    signal: AbortSignal.timeout(timeoutMs),
  })
  try {
    stream.send(encodeJoin(request))
    const answer = decodeJoinAnswer(await readFrame(stream, MAX_JOIN_ANSWER_BYTES, timeoutMs))
    await stream.close().catch(() => {})
    return answer
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

/**
 * Answers one request on an inbound stream. `answer` decides; a request that does not decode
 * is answered `refused` and costs nothing more.
 */
export async function serveJoin(
  stream: Stream,
  answer: (request: JoinRequest) => JoinAnswer | Promise<JoinAnswer>,
  timeoutMs: number,
): Promise<void> {
  try {
    const bytes = await readFrame(stream, MAX_JOIN_REQUEST_BYTES, timeoutMs)
    let reply: JoinAnswer
    try {
      reply = await answer(decodeJoinRequest(bytes))
    } catch (err) {
      reply = { type: 'refused', reason: err instanceof Error ? err.message : 'refused' }
    }
    stream.send(encodeJoin(reply))
    await stream.close()
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  }
}
