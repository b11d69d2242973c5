/**
 * The app's one window: confined by security.ts, opened at the size and place it had last time
 * (window-state.ts), and hidden rather than closed, so the node keeps taking part in the ledger
 * while the window is away; the tray and a second launch bring it back, and "Quit Tally" ends it.
 */
import { BrowserWindow, screen } from 'electron'
import { APP_ENTRY, secureWebPreferences } from './security.ts'
import {
  fitToDisplays,
  loadWindowState,
  MIN_HEIGHT,
  MIN_WIDTH,
  saveWindowState,
  type WindowState,
} from './window-state.ts'

/** Saving on every pixel of a drag would write the file hundreds of times. */
const SAVE_AFTER_MS = 500

export interface WindowOptions {
  readonly preload: string
  readonly stateFile: string
  /** Whether closing should only hide the window: false once the app is quitting. */
  hideOnClose(): boolean
}

export function createWindow(o: WindowOptions): BrowserWindow {
  const saved = fitToDisplays(
    loadWindowState(o.stateFile),
    screen.getAllDisplays().map((d) => d.workArea),
  )
  const win = new BrowserWindow({
    ...(saved.x === undefined || saved.y === undefined ? {} : { x: saved.x, y: saved.y }),
    width: saved.width,
    height: saved.height,
    minWidth: MIN_WIDTH,
    minHeight: MIN_HEIGHT,
    title: 'Tally',
    show: false,
    backgroundColor: '#ffffff',
    webPreferences: secureWebPreferences(o.preload),
  })
  win.removeMenu()
  // Maximizing shows the window: only once it has something to show, or it flashes white.
  win.once('ready-to-show', () => {
    if (saved.maximized) win.maximize()
    win.show()
  })

  let timer: ReturnType<typeof setTimeout> | null = null
  const save = () => {
    if (timer !== null) clearTimeout(timer)
    timer = null
    if (win.isDestroyed()) return
    const b = win.getNormalBounds()
    const state: WindowState = { ...b, maximized: win.isMaximized() }
    try {
      saveWindowState(o.stateFile, state)
    } catch (error) {
      console.error(
        `tally: could not keep the window's size and place: ${(error as Error).message}`,
      )
    }
  }
  const later = () => {
    if (timer !== null) clearTimeout(timer)
    timer = setTimeout(save, SAVE_AFTER_MS)
  }
  for (const e of ['resize', 'move', 'maximize', 'unmaximize'] as const)
    win.on(e as 'resize', later)
  win.on('close', (event) => {
    save()
    if (o.hideOnClose()) {
      event.preventDefault()
      win.hide()
    }
  })
  void win.loadURL(APP_ENTRY)
  return win
}

export function showWindow(win: BrowserWindow): void {
  if (win.isMinimized()) win.restore()
  win.show()
  win.focus()
}
