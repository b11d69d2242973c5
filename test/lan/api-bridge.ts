/**
 * Makes a node's API, which listens on 127.0.0.1 inside its host's namespace, reachable from the
 * test process in the root namespace:
 *
 *   node --import tsx test/lan/api-bridge.ts <unix socket path> <api port>
 *
 * Run inside the host's namespace, it listens on a Unix socket (a file path, which every network
 * namespace shares) and pipes each connection, byte for byte, to 127.0.0.1:<api port> there. The
 * test then speaks plain HTTP and WebSocket to the node through the socket, token and all, so it
 * sees exactly what a browser on that machine would. It knows nothing of the API, and the node
 * may stop and start behind it: a connection made while nothing listens is simply closed.
 */
import { createServer, connect as tcpConnect } from 'node:net'

async function main(): Promise<void> {
  const [path, portText] = process.argv.slice(2)
  if (!path || !portText) throw new Error('usage: api-bridge.ts <unix socket path> <api port>')
  const port = Number(portText)

  const server = createServer((client) => {
    const upstream = tcpConnect({ host: '127.0.0.1', port })
    client.pipe(upstream)
    upstream.pipe(client)
    // Either side failing ends both: the test sees a closed connection, as it would without us.
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  process.stdout.write('ready\n')
  // The test closing stdin is the polite way to stop; a kill is the other. The socket file goes
  // with the test's temporary folder.
  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
}

await main()
