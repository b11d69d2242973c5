/**
 * The preload: runs sandboxed before the page, and gives it `window.tally` with one thing in it,
 * the port to its core (a `PortRelay`, so it outlives the core's restarts). No ipcRenderer, no
 * Node, nothing else crosses the context bridge. Bundled into one file (dist-electron/preload.cjs)
 * because a sandboxed preload can require only Electron's renderer modules.
 */
import { contextBridge, ipcRenderer } from 'electron'
import type { DesktopBridge } from '../../core/api/desktop-protocol.ts'
import type { CoreDownCause, PortLike } from '../../core/api/port-protocol.ts'
import { CHANNELS } from '../channels.ts'
import { PortRelay } from './port-relay.ts'

const relay = new PortRelay()

ipcRenderer.on(CHANNELS.port, (event) => {
  const port = event.ports[0]
  if (port !== undefined) relay.attach(port as unknown as PortLike)
})
// Main is trusted and sends a CoreDownCause; the page's transport checks what reaches it anyway.
ipcRenderer.on(CHANNELS.coreDown, (_event, cause: CoreDownCause) => relay.detach(cause))

const bridge: DesktopBridge = { port: relay.page }
contextBridge.exposeInMainWorld('tally', bridge)
ipcRenderer.send(CHANNELS.connect)
