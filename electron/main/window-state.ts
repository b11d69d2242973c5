/**
 * The window's size and place, kept across runs in a small JSON file. What is read back is
 * checked: a file from another version or a damaged one gives the default window, and a place on a
 * display that is no longer there (a laptop away from its second screen) is dropped so the window
 * opens centred where it can be seen, never off-screen.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'

export interface Rect {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

export interface WindowState {
  /** Absent: let the system place the window (centred). */
  readonly x?: number
  readonly y?: number
  readonly width: number
  readonly height: number
  readonly maximized: boolean
}

export const DEFAULT_WINDOW: WindowState = { width: 1280, height: 820, maximized: false }
/** The smallest window the interface is laid out for. */
export const MIN_WIDTH = 720
export const MIN_HEIGHT = 480
/** How much of the title bar must lie on a display for a saved place to be kept. */
const VISIBLE_WIDTH = 120
const VISIBLE_HEIGHT = 40

/** The state in `text`, or the default if it is not one this version wrote. */
export function parseWindowState(text: string | null): WindowState {
  if (text === null) return DEFAULT_WINDOW
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return DEFAULT_WINDOW
  }
  if (typeof v !== 'object' || v === null) return DEFAULT_WINDOW
  const o = v as Partial<Record<string, unknown>>
  const size = (n: unknown, min: number) =>
    typeof n === 'number' && Number.isInteger(n) && n >= min && n <= 100_000
  if (!size(o.width, MIN_WIDTH) || !size(o.height, MIN_HEIGHT)) return DEFAULT_WINDOW
  const place = (n: unknown) =>
    typeof n === 'number' && Number.isInteger(n) && Math.abs(n) <= 100_000
  const base = {
    width: o.width as number,
    height: o.height as number,
    maximized: o.maximized === true,
  }
  return place(o.x) && place(o.y) ? { ...base, x: o.x as number, y: o.y as number } : base
}

/**
 * The saved state fitted to the displays there are now (their work areas): no larger than the
 * largest, and its place kept only if the top of the window shows on one of them.
 */
export function fitToDisplays(s: WindowState, workAreas: readonly Rect[]): WindowState {
  if (workAreas.length === 0) return s
  const maxW = Math.max(...workAreas.map((a) => a.width))
  const maxH = Math.max(...workAreas.map((a) => a.height))
  const width = Math.max(Math.min(s.width, maxW), Math.min(MIN_WIDTH, maxW))
  const height = Math.max(Math.min(s.height, maxH), Math.min(MIN_HEIGHT, maxH))
  const sized = { width, height, maximized: s.maximized }
  if (s.x === undefined || s.y === undefined) return sized
  const titleBar: Rect = { x: s.x, y: s.y, width, height: VISIBLE_HEIGHT }
  const seen = workAreas.some((a) => {
    const w = Math.min(titleBar.x + titleBar.width, a.x + a.width) - Math.max(titleBar.x, a.x)
    const h = Math.min(titleBar.y + titleBar.height, a.y + a.height) - Math.max(titleBar.y, a.y)
    return (
      w >= Math.min(VISIBLE_WIDTH, width) && h >= Math.min(VISIBLE_HEIGHT, height) && s.y! >= a.y
    )
  })
  return seen ? { ...sized, x: s.x, y: s.y } : sized
}

export function loadWindowState(file: string): WindowState {
  try {
    return parseWindowState(readFileSync(file, 'utf8'))
  } catch {
    return DEFAULT_WINDOW
  }
}

/** Written whole or not at all: a crash while saving leaves the previous file. */
export function saveWindowState(file: string, s: WindowState): void {
  const tmp = `${file}.tmp`
  // A leftover from a crash would keep its own mode: the file is made anew.
  rmSync(tmp, { force: true })
  writeFileSync(tmp, `${JSON.stringify(s)}\n`, { mode: 0o600 })
  renameSync(tmp, file)
}
