/**
 * A hostile member in its own process, for test/cluster/rogue.test.ts: it takes the key of a
 * member from that member's data folder (a machine of the office gone bad, or its key stolen),
 * connects to a `tally node` under it and repeats one attack, a new connection each round, until
 * the victim refuses it (banned) or the rounds run out. A member's key, because a node reads
 * nothing a non-member sends (its streams are cut unread), so only a member reaches the bounds
 * these attacks test. Prints one JSON line per event on stdout.
 *
 * Usage: node --import tsx rogue-peer.ts <attack> <victim multiaddr with /p2p/> <ledger id>
 *          <member data folder> [rounds]
 * Attacks: direct-trickle, gossip-oversize, sync-flood, muxer-oversize.
 */
import type { Connection } from '@libp2p/interface'
import { encodeMessage } from '../../core/consensus/messages.ts'
import { directProtocol } from '../../core/net/gossip.ts'
import {
  floodDirect,
  oversizedMuxerFrame,
  oversizedRpc,
  type Sent,
  sleep,
  startRogue,
  trickleDirect,
} from '../unit/net/rogue.ts'
import { memberSeed } from './member-key.ts'

const MIB = 1024 * 1024
/** The victim's largest direct frame (the node's maxMessageBytes, two blocks' worth). */
const LARGEST_FRAME = 32 * MIB

const [attack, victim, ledger, memberDir, roundsArg] = process.argv.slice(2)
if (!attack || !victim || !ledger || !memberDir) {
  throw new Error(
    'usage: rogue-peer.ts <attack> <victim multiaddr> <ledger id> <member data folder> [rounds]',
  )
}
const rounds = Number(roundsArg ?? 6)
const protocol = directProtocol(ledger)

const say = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)

type Attack = (connect: () => Promise<Connection>) => Promise<Sent[]>

const ATTACKS: Record<string, Attack> = {
  // Two connections (the most the victim allows one peer), each with eight streams that announce
  // a frame just under the largest and trickle all but its last byte: 512 MiB a round.
  'direct-trickle': async (connect) => {
    const connections = [await connect(), await connect().catch(() => null)]
    const open = connections.filter((c) => c !== null)
    const trickle = { streams: 8, declared: LARGEST_FRAME, perStream: LARGEST_FRAME - 1 }
    return Promise.all(open.map((c) => trickleDirect(c, protocol, trickle)))
  },
  // One RPC announcing 126 MiB (four times the bound of one largest message, and just under
  // what gossipsub took before it was bounded), sent whole.
  'gossip-oversize': async (connect) => [await oversizedRpc(await connect(), 126 * MIB, 126 * MIB)],
  // Sync requests from height 1, 50,000 on one stream as fast as it takes them.
  'sync-flood': async (connect) => {
    const request = encodeMessage({ type: 'sync-request', from: 1 })
    return [await floodDirect(await connect(), protocol, request, 50_000)]
  },
  // A yamux data frame announcing nearly 4 GiB, and 256 MiB of it.
  'muxer-oversize': async (connect) => [
    await oversizedMuxerFrame(await connect(), 0xf000_0000, 256 * MIB),
  ],
}

const run = ATTACKS[attack]
if (run === undefined) throw new Error(`no attack ${attack}`)
const rogue = await startRogue(memberSeed(memberDir))
say('ready', { id: rogue.id })

let refusals = 0
for (let round = 1; round <= rounds && refusals < 2; round++) {
  try {
    const sent = await run(async () => {
      const connection = await rogue.connect(victim)
      // A banned peer is let through the handshake and then cut off (the gater can only refuse
      // after noise): a connection that closes at once is a refusal.
      await sleep(200)
      if (connection.status !== 'open') throw new Error('the victim closed the connection')
      return connection
    })
    refusals = 0
    say('round', { round, sent })
  } catch (error) {
    refusals++
    say('refused', { round, error: (error as Error).message })
  }
  // What was sent is in the victim's hands before the connection goes, and its hang-up lands.
  await sleep(1000)
  for (const c of rogue.node.getConnections())
    await c.close().catch(() => c.abort(new Error('next')))
}
say('done', { refusals })
await rogue.stop()
process.exit(0)
