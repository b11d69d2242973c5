/**
 * A Net in its own process, for the test that SIGKILLs a peer: only a real process death shows
 * what the surviving side notices when the kernel closes the sockets.
 * Usage: node --import tsx peer-process.ts <seed hex> <ledger> <static peer multiaddr>
 */
import { fromHex } from '../../../core/ledger/hex.ts'
import { Net } from '../../../core/net/index.ts'

const [seedHex, ledger, peer] = process.argv.slice(2)
if (!seedHex || !ledger || !peer) throw new Error('usage: peer-process.ts <seed> <ledger> <peer>')

const net = await Net.start(
  {
    seed: fromHex(seedHex),
    ledger,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    peers: [peer],
    mdns: false,
    pingIntervalMs: 2000,
    pingTimeoutMs: 2000,
    maxMessageBytes: 1024 * 1024,
    validate: () => 'accept',
    isMember: () => true,
  },
  {
    onGossip: () => {},
    onDirect: () => {},
    onAddrs: () => {},
    onPeer: (id, connected) => {
      if (connected) process.stdout.write(`connected ${id}\n`)
    },
  },
)
process.stdout.write(`ready ${net.id}\n`)
// Stays up until killed; the parent SIGKILLs it.
setInterval(() => {}, 60_000)
