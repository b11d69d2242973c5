import { mount } from 'svelte'
import type { DesktopBridge } from '../../core/api/desktop-protocol.ts'
import App from './App.svelte'
import { HttpTransport } from './api/http-transport.ts'
import { PortTransport } from './api/port-transport.ts'
import { takeToken } from './api/token.ts'
import './app.css'
import { AppState } from './state/app.svelte.ts'
import { applyTheme, storedTheme } from './state/theme.ts'

applyTheme(storedTheme(localStorage))
const app = appState()
app?.start()
const target = document.getElementById('app')
if (target === null) throw new Error('index.html has no #app element')
mount(App, { target, props: { app } })

/**
 * In the desktop app the preload hands the page a port to its core (`window.tally`), and no token
 * is needed: holding the port is the permission. In web mode the page is served by the node it
 * talks to, so the node is wherever the page came from, and the token arrives in the address.
 */
function appState(): AppState | null {
  const desktop = (window as { tally?: DesktopBridge }).tally
  if (desktop !== undefined) return new AppState(new PortTransport(desktop.port))
  const token = takeToken(location, history, sessionStorage)
  return token === null ? null : new AppState(new HttpTransport(location.origin, token))
}
