/**
 * Runs the desktop app's core entry (core/cli/desktop-core-entry.ts) in a plain Node child
 * process, with a stand-in for the one thing only Electron gives it: `process.parentPort` and the
 * MessagePorts main transfers over it. Messages cross the child's IPC channel instead:
 *
 * - `{ to: 'core', data }` from the test is a message from main; a `connect` gets a fresh
 *   worker_threads MessageChannel, one end handed to the core as the transferred port;
 * - `{ to: 'port', data }` goes into that channel, as the renderer's messages would;
 * - the child sends `{ from: 'core', data }` for what the core tells main, and `{ from: 'port',
 *   data }` for what it posts on the renderer's port, and `{ from: 'port-closed' }`.
 *
 * Everything else (the node, its API, the bridge, the status reports, the stop) is the real core.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import type { MainPort, ParentPort } from '../../../core/cli/desktop-core.ts'

type Listener = (e: { data: unknown; ports: readonly MainPort[] }) => void
const listeners: Listener[] = []
const early: Parameters<Listener>[0][] = []
let rendererEnd: MessagePort | null = null

const send = (m: unknown) => process.send?.(m)

function mainPort(port: MessagePort): MainPort {
  return {
    on: (event: 'message' | 'close', listener: (e: { data: unknown }) => void) => {
      if (event === 'message') port.on('message', (data: unknown) => listener({ data }))
      else port.on('close', () => (listener as () => void)())
    },
    postMessage: (m) => port.postMessage(m),
    start: () => port.start(),
    close: () => port.close(),
  } as MainPort
}

function deliver(e: Parameters<Listener>[0]): void {
  // As Electron's parentPort does, messages wait for the first listener.
  if (listeners.length === 0) early.push(e)
  else for (const l of listeners) l(e)
}

process.on('message', (raw) => {
  const m = raw as { to?: string; data?: { type?: string } }
  if (m.to === 'core') {
    if (m.data?.type === 'connect') {
      const { port1, port2 } = new MessageChannel()
      rendererEnd?.close()
      rendererEnd = port2
      port2.on('message', (data: unknown) => send({ from: 'port', data }))
      port2.on('close', () => send({ from: 'port-closed' }))
      deliver({ data: m.data, ports: [mainPort(port1)] })
    } else deliver({ data: m.data, ports: [] })
  } else if (m.to === 'port') rendererEnd?.postMessage(m.data)
})

const parent: ParentPort = {
  on: (_event, listener) => {
    listeners.push(listener)
    for (const e of early.splice(0)) listener(e)
  },
  postMessage: (m) => send({ from: 'core', data: m }),
}
;(process as { parentPort?: ParentPort }).parentPort = parent
await import('../../../core/cli/desktop-core-entry.ts')
