/**
 * The desktop app's main process: window, tray and lifecycle, and nothing of the ledger. The core
 * runs in a utility process (core-supervisor.ts); the page reaches it over a MessagePort main
 * hands to both and never reads. Bundled to dist-electron/main.cjs (electron/build.ts).
 *
 * Order matters here: the app:// scheme is registered, the data folder chosen and the
 * single-instance lock taken before `ready`; the window loads only after the protocol serves it.
 */
import { join } from 'node:path'
import {
  app,
  type BrowserWindow,
  ipcMain,
  MessageChannelMain,
  type MessagePortMain,
  protocol,
  session,
  utilityProcess,
} from 'electron'
import { CHANNELS } from '../channels.ts'
import { appResponse } from './app-protocol.ts'
import { CoreSupervisor } from './core-supervisor.ts'
import { PageLink } from './page-link.ts'
import { type AppPaths, ArgsError, appPaths, coreSwitches, dataDirArg } from './paths.ts'
import { RestartPolicy } from './restart-policy.ts'
import {
  APP_SCHEME,
  allowPermission,
  isAppUrl,
  isTrustedSender,
  REMOTE_URL_PATTERNS,
} from './security.ts'
import { AppTray } from './tray.ts'
import { createWindow, showWindow } from './window.ts'

const PRELOAD = join(__dirname, 'preload.cjs')
const CORE_MODULE = join(__dirname, 'core.mjs')
const RENDERER = join(__dirname, '..', 'renderer', 'dist')

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true } },
])

let paths: AppPaths | null = null
let switches: string[] = []
try {
  const dir = dataDirArg(process.argv.slice(1), process.cwd())
  switches = coreSwitches(process.argv.slice(1))
  // Before the lock: it is taken per user-data folder, so each --data-dir is its own instance.
  if (dir !== null) app.setPath('userData', dir)
  paths = appPaths(app.getPath('userData'))
} catch (error) {
  if (!(error instanceof ArgsError)) throw error
  console.error(`tally: ${error.message}`)
  app.exit(2)
}

if (paths !== null) {
  if (app.requestSingleInstanceLock()) run(paths)
  else {
    // The running instance shows its window (its `second-instance`); this one has nothing to do.
    app.quit()
  }
}

function run(p: AppPaths): void {
  let win: BrowserWindow | null = null
  let tray: AppTray | null = null
  let quitting = false
  let stopped = false

  const supervisor = new CoreSupervisor<MessagePortMain>({
    fork: () =>
      utilityProcess.fork(CORE_MODULE, ['--data', p.nodeData, ...switches, ...sqliteBinding()], {
        serviceName: 'Tally core',
        stdio: ['ignore', 'inherit', 'pipe'],
      }),
    policy: new RestartPolicy(),
    now: () => Date.now(),
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
    log: (line) => console.error(line),
  })

  const page = new PageLink<MessagePortMain>({
    supervisor,
    channel: () => {
      const { port1, port2 } = new MessageChannelMain()
      return {
        core: port1,
        page: port2,
        close: () => {
          port1.close()
          port2.close()
        },
      }
    },
    sendPort: (port) => {
      if (win !== null && !win.isDestroyed())
        win.webContents.postMessage(CHANNELS.port, null, [port])
      else port.close()
    },
    sendDown: (cause) => {
      if (win !== null && !win.isDestroyed()) win.webContents.send(CHANNELS.coreDown, cause)
    },
  })

  app.on('second-instance', () => {
    if (win !== null) showWindow(win)
  })
  app.on('activate', () => {
    if (win !== null) showWindow(win)
  })
  app.on('web-contents-created', (_event, contents) => {
    // Nothing the page does may take it, or a new window, anywhere but the app's own files.
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault()
    })
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault()
    })
    contents.on('will-attach-webview', (event) => event.preventDefault())
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })
  app.on('before-quit', (event) => {
    if (stopped) return
    // The node stops first (its last writes synced, its peers told), then the app.
    event.preventDefault()
    if (quitting) return
    quitting = true
    void supervisor.stop().then(() => {
      stopped = true
      tray?.destroy()
      app.quit()
    })
  })

  app
    .whenReady()
    .then(() => {
      const ses = session.defaultSession
      // Only what the interface uses: its "Copy" buttons write to the clipboard.
      ses.setPermissionRequestHandler((_contents, permission, callback, details) =>
        callback(allowPermission(permission, details.requestingUrl)),
      )
      ses.setPermissionCheckHandler((_contents, permission, requestingOrigin) =>
        allowPermission(permission, requestingOrigin),
      )
      ses.webRequest.onBeforeRequest({ urls: [...REMOTE_URL_PATTERNS] }, (_details, callback) =>
        callback({ cancel: true }),
      )
      protocol.handle(APP_SCHEME, (request) => appResponse(RENDERER, request.url, request.method))

      ipcMain.on(CHANNELS.connect, (event) => {
        if (
          win === null ||
          event.sender !== win.webContents ||
          !isTrustedSender(event.senderFrame)
        ) {
          return
        }
        page.pageLoaded()
      })
      supervisor.onStarted(() => page.coreStarted())
      supervisor.onChange((life, summary) => {
        tray?.show(life, summary)
        if (life.state === 'down') page.coreDown(life.cause)
      })

      win = createWindow({
        preload: PRELOAD,
        stateFile: p.windowState,
        hideOnClose: () => !quitting,
      })
      win.webContents.on('render-process-gone', (_event, details) => {
        page.pageGone()
        // A page that crashed is loaded again, and asks for a port as every load does.
        if (details.reason !== 'clean-exit' && win !== null && !win.isDestroyed()) {
          win.webContents.reload()
        }
      })
      tray = new AppTray({
        open: () => {
          if (win !== null) showWindow(win)
        },
        restartCore: () => supervisor.restartNow(),
        quit: () => app.quit(),
      })
      supervisor.start()
    })
    .catch((error: unknown) => {
      // Without a window or tray nobody could quit it, and it would hold the single-instance
      // lock: every later start would hand over to it and end.
      console.error(`tally: the app could not start: ${(error as Error).stack ?? String(error)}`)
      app.exit(1)
    })
}

/**
 * In development, `tally start` builds better-sqlite3 for Electron's ABI beside the one the tests
 * use and names it here (core/cli/electron-native.ts). A packaged app has its own, rebuilt by
 * electron-builder, and takes no such hint from its environment.
 */
function sqliteBinding(): string[] {
  const binding = process.env.TALLY_SQLITE_BINDING
  return !app.isPackaged && binding !== undefined && binding !== ''
    ? ['--sqlite-binding', binding]
    : []
}
