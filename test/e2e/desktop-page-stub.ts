/**
 * Stands in for the desktop app's preload in a plain Chromium page (desktop-page.test.ts): the
 * page gets `window.tally` with a real `PortRelay`, as the preload gives it, but its core port
 * is carried by Playwright (`__toCore` out, `__desktop.deliver` in) instead of Electron's IPC, and
 * the test says when the core comes and goes, as main does.
 */
import type { CoreDownCause, PortEvent } from '../../core/api/port-protocol.ts'
import { PortRelay } from '../../electron/preload/port-relay.ts'

interface Page {
  tally?: unknown
  __toCore?: (message: unknown) => Promise<void>
  __desktop?: unknown
}

const page = globalThis as Page
const relay = new PortRelay()
let listener: ((e: PortEvent) => void) | null = null

page.tally = { port: relay.page }
page.__desktop = {
  attach(): void {
    listener = null
    relay.attach({
      postMessage: (m) => void page.__toCore?.(m),
      addEventListener: (type, l) => {
        if (type === 'message') listener = l
      },
      close: () => {},
    })
  },
  detach(cause: CoreDownCause): void {
    listener = null
    relay.detach(cause)
  },
  deliver(message: unknown): void {
    listener?.({ type: 'message', data: message })
  },
}
