/**
 * A stand-in host for netns.test.ts, run inside one namespace of a Lan:
 *
 *   node --import tsx test/lan/agent.ts <own ip> <tcp port>
 *
 * It joins the mDNS group on its interface as libp2p's mDNS would (224.0.0.251:5353), listens
 * on TCP, and takes commands as JSON lines on stdin. Everything it sees goes out as JSON lines on
 * stdout, so the test can watch what reached which host.
 */
import dgram from 'node:dgram'
import { createServer, type Socket, connect as tcpConnect } from 'node:net'
import { createInterface } from 'node:readline'

export const MDNS_GROUP = '224.0.0.251'
export const MDNS_PORT = 5353

export type Command =
  | { readonly id: number; readonly op: 'mcast'; readonly text: string }
  | {
      readonly id: number
      readonly op: 'connect'
      readonly host: string
      readonly port: number
      readonly timeoutMs: number
    }
  | { readonly id: number; readonly op: 'write'; readonly conn: number; readonly text: string }

export type AgentEvent =
  | { readonly ev: 'ready' }
  | { readonly ev: 'reply'; readonly id: number; readonly ok: true; readonly conn?: number }
  | { readonly ev: 'reply'; readonly id: number; readonly ok: false; readonly error: string }
  | { readonly ev: 'mcast'; readonly from: string; readonly text: string }
  | { readonly ev: 'tcp'; readonly from: string; readonly text: string }
  | { readonly ev: 'connError'; readonly conn: number; readonly error: string }
  | { readonly ev: 'connClose'; readonly conn: number }

function emit(e: AgentEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`)
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err)
}

async function main(): Promise<void> {
  const [ownIp, portText] = process.argv.slice(2)
  if (!ownIp || !portText) throw new Error('usage: agent.ts <own ip> <tcp port>')
  const port = Number(portText)

  // reuseAddr as multicast-dns sets it, so several listeners could share 5353.
  const udp = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  udp.on('message', (msg, rinfo) =>
    emit({ ev: 'mcast', from: rinfo.address, text: msg.toString() }),
  )
  await new Promise<void>((resolve) => udp.bind(MDNS_PORT, resolve))
  udp.addMembership(MDNS_GROUP, ownIp)
  udp.setMulticastInterface(ownIp)

  const server = createServer((socket) => {
    const from = socket.remoteAddress ?? '?'
    socket.on('data', (data) => emit({ ev: 'tcp', from, text: data.toString() }))
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve))

  const conns = new Map<number, Socket>()
  let nextConn = 0

  const handle = (cmd: Command): void => {
    const reply = (error?: string, conn?: number) =>
      emit(
        error === undefined
          ? { ev: 'reply', id: cmd.id, ok: true, ...(conn === undefined ? {} : { conn }) }
          : { ev: 'reply', id: cmd.id, ok: false, error },
      )
    switch (cmd.op) {
      case 'mcast':
        udp.send(cmd.text, MDNS_PORT, MDNS_GROUP, (err) => reply(err ? code(err) : undefined))
        return
      case 'connect': {
        const n = nextConn++
        const socket = tcpConnect({ host: cmd.host, port: cmd.port })
        const timer = setTimeout(() => {
          socket.destroy()
          reply('timeout')
        }, cmd.timeoutMs)
        socket.once('connect', () => {
          clearTimeout(timer)
          conns.set(n, socket)
          socket.on('error', (err) => emit({ ev: 'connError', conn: n, error: code(err) }))
          socket.on('close', () => emit({ ev: 'connClose', conn: n }))
          reply(undefined, n)
        })
        socket.once('error', (err) => {
          if (conns.has(n)) return
          clearTimeout(timer)
          reply(code(err))
        })
        return
      }
      case 'write': {
        const socket = conns.get(cmd.conn)
        if (socket) socket.write(cmd.text, (err) => reply(err ? code(err) : undefined))
        else reply(`no connection ${cmd.conn}`)
        return
      }
    }
  }

  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => handle(JSON.parse(line) as Command))
  // The test closing stdin is the polite way to stop; a kill is the other.
  lines.on('close', () => process.exit(0))
  emit({ ev: 'ready' })
}

await main()
