/**
 * A hostile libp2p peer for the tests: plain libp2p (not Tally's Net, which would refuse to send
 * what these attacks send), with raw access to streams and to the connection's yamux, so it can
 * declare frames, RPCs and muxer frames of any length and send as much or as little as it likes.
 */
import '../../../core/net/polyfill.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { nodeIdFromPeerId, privateKeyFromSeed } from '../../../core/net/keys.ts'

export const GOSSIP_PROTOCOLS = ['/meshsub/1.2.0', '/meshsub/1.1.0', '/meshsub/1.0.0']
const MIB = 1024 * 1024

export interface Rogue {
  readonly node: Libp2p
  readonly id: string
  /** A new connection to `addr` (libp2p would reuse an open one without `force`). */
  connect(addr: string): Promise<Connection>
  stop(): Promise<void>
}

/**
 * A rogue under a fresh key, or under `seed`: a member's key, for attacks that only a member's
 * streams reach (a node reads nothing from a peer outside its ledger).
 */
export async function startRogue(seed?: Uint8Array): Promise<Rogue> {
  const node = await createLibp2p({
    privateKey:
      seed === undefined ? await generateKeyPair('Ed25519') : await privateKeyFromSeed(seed),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] },
    // Answers the victim's pings, so that it is not dropped for being silent.
    services: { identify: identify(), ping: ping() },
  })
  const id = nodeIdFromPeerId(node.peerId)
  if (id === null) throw new Error('the rogue key is not ed25519')
  return {
    node,
    id,
    connect: (addr) => node.dial(multiaddr(addr), { force: true }),
    stop: async () => {
      await node.stop()
    },
  }
}

export interface Sent {
  /** Streams the victim let us open, and those it refused during negotiation. */
  opened: number
  refused: number
  /** Bytes written to streams or the muxer, headers included. */
  bytes: number
}

function sent(): Sent {
  return { opened: 0, refused: 0, bytes: 0 }
}

function alive(stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable'
}

/** Writes `data`, waiting for the stream to drain; false once the victim has cut the stream. */
async function write(stream: Stream, data: Uint8Array): Promise<boolean> {
  if (!alive(stream)) return false
  try {
    if (!stream.send(data)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
    return alive(stream)
  } catch {
    return false
  }
}

async function open(connection: Connection, protocols: string[], s: Sent): Promise<Stream | null> {
  try {
    const stream = await connection.newStream(protocols, { signal: AbortSignal.timeout(5_000) })
    s.opened++
    return stream
  } catch {
    s.refused++
    return null
  }
}

function be32(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n, false)
  return out
}

function varint(n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}

export interface TrickleOptions {
  /** Streams opened at once on the connection. */
  readonly streams: number
  /** The length each stream's header declares. */
  readonly declared: number
  /** Bytes each stream sends after its header, at most (never the whole frame). */
  readonly perStream: number
  readonly chunkBytes?: number
  readonly pauseMs?: number
}

/**
 * Opens `streams` direct streams at once; each declares a frame of `declared` bytes and then
 * trickles up to `perStream` bytes of it, never finishing, so that the victim holds what it got.
 */
export async function trickleDirect(
  connection: Connection,
  protocol: string,
  o: TrickleOptions,
): Promise<Sent> {
  const s = sent()
  const chunk = new Uint8Array(o.chunkBytes ?? 256 * 1024).fill(0x5a)
  const last = Math.min(o.perStream, o.declared - 1)
  await Promise.all(
    Array.from({ length: o.streams }, async () => {
      const stream = await open(connection, [protocol], s)
      if (stream === null || !(await write(stream, be32(o.declared)))) return
      s.bytes += 4
      for (let n = 0; n < last; ) {
        const part = chunk.subarray(0, Math.min(chunk.length, last - n))
        if (!(await write(stream, part))) return
        n += part.length
        s.bytes += part.length
        await sleep(o.pauseMs ?? 2)
      }
    }),
  )
  return s
}

/** One gossip RPC whose length prefix declares `declared` bytes, followed by up to `send` of them. */
export async function oversizedRpc(
  connection: Connection,
  declared: number,
  send: number,
): Promise<Sent> {
  const s = sent()
  const stream = await open(connection, GOSSIP_PROTOCOLS, s)
  if (stream === null || !(await write(stream, varint(declared)))) return s
  const chunk = new Uint8Array(MIB).fill(0x0a)
  for (let n = 0; n < send; n += chunk.length) {
    if (!(await write(stream, chunk))) break
    s.bytes += chunk.length
  }
  return s
}

/** `count` copies of `frame` on one direct stream, as fast as the stream takes them. */
export async function floodDirect(
  connection: Connection,
  protocol: string,
  frame: Uint8Array,
  count: number,
): Promise<Sent> {
  const s = sent()
  const stream = await open(connection, [protocol], s)
  if (stream === null) return s
  const one = new Uint8Array(4 + frame.length)
  one.set(be32(frame.length))
  one.set(frame, 4)
  const perWrite = Math.max(1, Math.floor((64 * 1024) / one.length))
  const batch = new Uint8Array(one.length * perWrite)
  for (let i = 0; i < perWrite; i++) batch.set(one, i * one.length)
  for (let n = 0; n < count; n += perWrite) {
    if (!(await write(stream, batch))) break
    s.bytes += batch.length
  }
  return s
}

/**
 * A yamux data frame header declaring `declared` bytes on a stream of its own, then up to `send`
 * bytes of it, written under yamux (which would never make such a frame) on the connection.
 */
export async function oversizedMuxerFrame(
  connection: Connection,
  declared: number,
  send: number,
): Promise<Sent> {
  const s = sent()
  const muxer = (connection as unknown as { muxer?: { send(data: Uint8Array): boolean } }).muxer
  if (muxer === undefined) throw new Error('this libp2p keeps its muxer elsewhere')
  const header = new Uint8Array(12)
  const view = new DataView(header.buffer)
  view.setUint8(0, 0) // version
  view.setUint8(1, 0) // data
  view.setUint16(2, 1) // SYN: a new stream
  view.setUint32(4, 0x7fff_fff1) // an odd id: the dialler's
  view.setUint32(8, declared)
  muxer.send(header)
  s.bytes += header.length
  const chunk = new Uint8Array(MIB).fill(0x33)
  for (let n = 0; n < send && connection.status === 'open'; n += chunk.length) {
    muxer.send(chunk)
    s.bytes += chunk.length
    await sleep(2)
  }
  return s
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
