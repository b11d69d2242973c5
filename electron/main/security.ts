/**
 * The rules that confine the window, from Electron's security checklist
 * (../shared/research/ux-style.md §3.1), as data and predicates that tests read; index.ts and
 * window.ts apply them. The page comes only from the app's own files under `app://tally/`; it
 * never navigates anywhere else, opens no windows, gets no permissions, loads nothing remote and
 * has no Node; the one IPC message it may send is checked for coming from that page.
 */
import type { WebPreferences } from 'electron'

export const APP_SCHEME = 'app'
export const APP_HOST = 'tally'
/** The page the window loads. */
export const APP_ENTRY = `${APP_SCHEME}://${APP_HOST}/index.html`

/** Whether `url` is one of the app's own pages or files (parsed, not compared as text). */
export function isAppUrl(url: string): boolean {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return false
  }
  return (
    u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === ''
  )
}

/**
 * The window's web preferences: every item of the checklist that a BrowserWindow takes, set
 * explicitly even where Electron's default already agrees, so a change of default cannot undo it.
 */
export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    devTools: true,
  }
}

/** The frame an IPC message came from, as far as the check needs it (Electron's WebFrameMain). */
export interface SenderFrame {
  readonly url: string
  readonly parent: unknown
}

/**
 * Whether an IPC message may be acted on: it comes from the top frame of the app's own page.
 * A frame gone by the time the message is read (null) is not trusted either.
 */
export function isTrustedSender(frame: SenderFrame | null | undefined): boolean {
  return frame != null && frame.parent === null && isAppUrl(frame.url)
}

/**
 * Requests the page could make that leave the app: cancelled before they are sent. The page's
 * CSP already forbids them; this holds even for a page that somehow runs without it.
 */
export const REMOTE_URL_PATTERNS: readonly string[] = [
  'http://*/*',
  'https://*/*',
  'ws://*/*',
  'wss://*/*',
  'ftp://*/*',
  'file:///*',
]

/** The one permission the page uses: writing text to the clipboard (Settings' "Copy" buttons). */
const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write'])

/**
 * Whether the page at `url` (a URL or an origin) may have `permission`: only the clipboard
 * write, only for the app's own page. Camera, notifications, geolocation and the rest are never
 * asked for by the interface, so they are refused without a prompt.
 */
export function allowPermission(permission: string, url: string): boolean {
  return ALLOWED_PERMISSIONS.has(permission) && isAppUrl(url)
}
