/**
 * A machine outside the ledger, in its own process, for test/cluster/nonmember.test.ts. It runs
 * the libp2p stack a Tally node runs (TCP, noise, yamux, identify, ping, gossipsub with the
 * node's own gossip options for the ledger) under a fresh key, so to a member it looks like a
 * node of the ledger in every way but membership. Prints one JSON line per event on stdout, and
 * a summary last.
 *
 * Usage:
 *   node --import tsx nonmember-peer.ts spy <member multiaddr with /p2p/> <ledger id> <seconds>
 *     Dials the member, subscribes to both ledger topics, keeps a direct stream open and sends
 *     block sync requests on it, serves the direct protocol for whatever the member might send,
 *     and asks the join protocol's hello (and a join); reports everything it receives.
 *   node --import tsx nonmember-peer.ts crowd <member multiaddr with /p2p/> <count> <seconds>
 *     `count` machines under fresh keys, dialling the member one after the other; reports which
 *     got a connection that stayed open, then when the member closed each, for `seconds`.
 */
import '../../core/net/polyfill.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Connection, Libp2p, Stream, StreamCloseEvent } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { decodeMessage, encodeMessage } from '../../core/consensus/messages.ts'
import { LIMITS } from '../../core/ledger/limits.ts'
import { FrameDecoder, frameHeader } from '../../core/net/frames.ts'
import { directProtocol, gossipOptions, TOPICS, topicName } from '../../core/net/gossip.ts'
import { JOIN_PROTOCOL, MAX_JOIN_ANSWER_BYTES, readFrame } from '../../core/net/join.ts'
import { nodeIdFromPeerId } from '../../core/net/keys.ts'

/** A node's own bounds: its largest gossip message (a proposal) and its largest direct frame. */
const GOSSIP_BYTES = LIMITS.blockBytes + 2048 + 8
const FRAME_BYTES = 2 * LIMITS.blockBytes
const SYNC_EVERY_MS = 250
const LOOPBACK = ['/ip4/127.0.0.0/ipcidr/8']

const say = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, at: Date.now(), ...fields })}\n`)

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

/** The type of a ledger message, or why it does not decode: what leaked, not its bytes. */
function describe(bytes: Uint8Array): string {
  try {
    const m = decodeMessage(bytes)
    // A sync request carries its sender's height.
    return m.type === 'sync-request' ? `sync-request from ${m.from}` : m.type
  } catch (err) {
    return `undecodable (${message(err)})`
  }
}

/** multistream-select's protocol id: every stream opens by naming it, then its protocol. */
const MSS = '/multistream/1.0.0'

/** A multistream-select message: its length as a varint, then the text. */
function lp(text: string): Uint8Array {
  const body = new TextEncoder().encode(text)
  const prefix: number[] = []
  for (let n = body.length; ; n >>>= 7) {
    if (n < 0x80) {
      prefix.push(n)
      break
    }
    prefix.push((n & 0x7f) | 0x80)
  }
  return concat([Uint8Array.from(prefix), body])
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length)
  out.set(frameHeader(body.length))
  out.set(body, 4)
  return out
}

async function spy(victim: string, ledger: string, seconds: number): Promise<void> {
  const protocol = directProtocol(ledger)
  const node = await createLibp2p({
    start: false,
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { allow: LOOPBACK },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(
        gossipOptions({ ledger, maxMessageBytes: GOSSIP_BYTES, appPenalty: () => 0 }),
      ),
    },
  })
  const pubsub: GossipSub = node.services.pubsub
  const counts = {
    gossipMessages: 0,
    gossipStreamsIn: 0,
    directStreamsIn: 0,
    directFramesIn: 0,
    directOpened: 0,
    directRefused: 0,
    /** Direct streams whose protocol the member accepted (before cutting them). */
    directNamed: 0,
    directResetByMember: 0,
    directOtherwiseClosed: 0,
    directBytesRead: 0,
    syncRequestsSent: 0,
    connections: 0,
  }
  // A member that knew us would open a gossip stream to us (with its subscriptions); count any
  // before gossipsub takes it. Gossipsub binds this method at start, so it is wrapped before.
  const target = pubsub as unknown as {
    onIncomingStream: (stream: Stream, connection: Connection) => void
  }
  const incoming = target.onIncomingStream
  target.onIncomingStream = (stream, connection) => {
    counts.gossipStreamsIn++
    say('gossip-stream-in', { protocol: stream.protocol })
    incoming.call(pubsub, stream, connection)
  }
  pubsub.addEventListener('gossipsub:message', (evt) => {
    counts.gossipMessages++
    const { msg } = evt.detail
    // Skips the 8-byte envelope every Tally publish carries.
    say('gossip', {
      topic: msg.topic,
      bytes: msg.data.length,
      type: describe(msg.data.subarray(8)),
    })
  })
  // Served as a node serves it: a member that took us for a peer would send here.
  await node.handle(
    protocol,
    (stream) => {
      counts.directStreamsIn++
      say('direct-stream-in')
      const decoder = new FrameDecoder(FRAME_BYTES)
      stream.addEventListener('message', (evt) => {
        try {
          for (const f of decoder.push(evt.data.subarray())) {
            counts.directFramesIn++
            say('direct-frame', { bytes: f.length, type: describe(f) })
          }
        } catch (err) {
          say('direct-frame-error', { error: message(err) })
          stream.abort(new Error('bad frame'))
        }
      })
    },
    { maxInboundStreams: 8 },
  )
  await node.start()
  for (const topic of TOPICS) pubsub.subscribe(topicName(ledger, topic))
  const id = nodeIdFromPeerId(node.peerId)
  say('ready', { id })

  let connection: Connection | null = null
  const connect = async (): Promise<Connection | null> => {
    if (connection?.status === 'open') return connection
    try {
      connection = await node.dial(multiaddr(victim), { signal: AbortSignal.timeout(5000) })
      counts.connections++
      say('connected', { remote: connection.remotePeer.toString() })
      return connection
    } catch (err) {
      say('dial-failed', { error: message(err) })
      return null
    }
  }

  const ask = async (c: Connection, request: Record<string, unknown>): Promise<void> => {
    try {
      const stream = await c.newStream(JOIN_PROTOCOL, { signal: AbortSignal.timeout(5000) })
      stream.send(frame(new TextEncoder().encode(JSON.stringify(request))))
      const bytes = await readFrame(stream, MAX_JOIN_ANSWER_BYTES, 5000)
      // The answer as sent, not as our decoder would keep it: extra fields must show.
      say('join', { request, answer: JSON.parse(new TextDecoder().decode(bytes)) as unknown })
      await stream.close().catch(() => {})
    } catch (err) {
      say('join-failed', { request, error: message(err) })
    }
  }

  /**
   * A stream of the direct protocol whose first frame travels with the protocol's selection, in
   * one write: libp2p's own dialler waits for the selection to be confirmed, by when a member
   * may have cut the stream, and the request would never leave. Written this way, it is in the
   * member's hands before its handler runs. The member's confirmation of the selection is
   * expected back; anything past it is what it read and answered.
   */
  const handshake = concat([lp(`${MSS}\n`), lp(`${protocol}\n`)])
  const held: { direct: Stream | null } = { direct: null }
  const openDirect = async (c: Connection, first: Uint8Array): Promise<void> => {
    const muxer = (c as unknown as { muxer?: { createStream(): Promise<Stream> } }).muxer
    if (muxer === undefined) throw new Error('this libp2p keeps its muxer elsewhere')
    let stream: Stream
    try {
      stream = await muxer.createStream()
    } catch (err) {
      counts.directRefused++
      say('direct-refused', { error: message(err) })
      return
    }
    counts.directOpened++
    const opened = Date.now()
    let received: Uint8Array = new Uint8Array(0)
    let named = false
    stream.addEventListener('message', (evt) => {
      received = concat([received, evt.data.subarray()])
      let same = 0
      while (same < received.length && received[same] === handshake[same]) same++
      if (!named && same === handshake.length) {
        named = true
        counts.directNamed++
      }
      if (same === received.length) return
      counts.directBytesRead += received.length - same
      say('direct-read', { bytes: received.length - same })
      received = received.subarray(0, same)
    })
    stream.addEventListener(
      'close',
      (evt: StreamCloseEvent) => {
        const byMember = evt.local !== true && evt.error !== undefined
        if (byMember) counts.directResetByMember++
        else counts.directOtherwiseClosed++
        say('direct-closed', {
          afterMs: Date.now() - opened,
          byMember,
          error: evt.error === undefined ? null : message(evt.error),
        })
      },
      { once: true },
    )
    held.direct = stream
    stream.send(concat([handshake, first]))
    counts.syncRequestsSent++
  }
  const writable = (s: Stream | null): s is Stream =>
    s !== null && s.status === 'open' && s.writeStatus === 'writable'

  const deadline = Date.now() + seconds * 1000
  const first = await connect()
  if (first !== null) {
    await ask(first, { type: 'hello' })
    await ask(first, { type: 'join', ledger, name: 'intruder' })
  }
  const sync = frame(encodeMessage({ type: 'sync-request', from: 1 }))
  while (Date.now() < deadline) {
    const c = await connect()
    // A stream the member kept is used again, as a node would; one it cut is opened anew.
    if (writable(held.direct)) {
      held.direct.send(sync)
      counts.syncRequestsSent++
    } else if (c !== null) await openDirect(c, sync)
    await sleep(SYNC_EVERY_MS)
  }
  const subscribers = Object.fromEntries(
    TOPICS.map((t) => [t, pubsub.getSubscribers(topicName(ledger, t)).length]),
  )
  const stillConnected = node.getConnections().some((c) => c.status === 'open')
  say('done', { ...counts, subscribers, gossipPeers: pubsub.getPeers().length, stillConnected })
  await node.stop()
}

async function crowd(victim: string, count: number, seconds: number): Promise<void> {
  const guests: { node: Libp2p; connection: Connection | null; at: number }[] = []
  for (let i = 0; i < count; i++) {
    const node = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { allow: LOOPBACK },
      services: { identify: identify(), ping: ping() },
    })
    const guest = { node, connection: null as Connection | null, at: 0 }
    guests.push(guest)
    try {
      const connection = await node.dial(multiaddr(victim), { signal: AbortSignal.timeout(5000) })
      // The member can refuse only after the handshake, so a refusal may look like a
      // connection that closes at once.
      await sleep(300)
      if (connection.status !== 'open') throw new Error(`closed at once (${connection.status})`)
      guest.connection = connection
      guest.at = Date.now()
      say('admitted', { guest: i })
    } catch (err) {
      say('refused', { guest: i, error: message(err) })
    }
  }
  const admitted = guests.filter((g) => g.connection !== null)
  say('held', { admitted: admitted.length, refused: count - admitted.length })
  const closed = new Set<number>()
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline && closed.size < admitted.length) {
    guests.forEach((g, i) => {
      if (g.connection === null || closed.has(i) || g.connection.status === 'open') return
      closed.add(i)
      say('closed', { guest: i, afterMs: Date.now() - g.at })
    })
    await sleep(100)
  }
  say('done', { admitted: admitted.length, closed: closed.size })
  await Promise.all(guests.map((g) => g.node.stop()))
}

const [mode, victim, third, fourth] = process.argv.slice(2)
if (victim === undefined || third === undefined || fourth === undefined) {
  throw new Error('usage: nonmember-peer.ts spy|crowd <member multiaddr> <ledger|count> <seconds>')
}
if (mode === 'spy') await spy(victim, third, Number(fourth))
else if (mode === 'crowd') await crowd(victim, Number(third), Number(fourth))
else throw new Error(`no mode ${mode}`)
process.exit(0)
