/**
 * The window's size and place across runs (electron/main/window-state.ts): what is read back is
 * checked, what is written is written whole, and a place is kept only where it can be seen.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  DEFAULT_WINDOW,
  fitToDisplays,
  loadWindowState,
  MIN_HEIGHT,
  MIN_WIDTH,
  parseWindowState,
  type Rect,
  saveWindowState,
  type WindowState,
} from '../../../electron/main/window-state.ts'

const FULL_HD: Rect = { x: 0, y: 0, width: 1920, height: 1080 }

describe('reading the saved window state', () => {
  it('gives the default for garbage: nothing, bad JSON, not an object', () => {
    for (const text of [null, '', 'not json', '{', 'null', '42', '"a window"', 'true', '[]']) {
      assert.deepEqual(parseWindowState(text), DEFAULT_WINDOW, String(text))
    }
  })

  it('gives the default for a file of another shape or version', () => {
    for (const text of [
      '{"w":1280,"h":820}',
      '{"width":"1280","height":"820"}',
      '{"bounds":{"width":1280,"height":820},"version":2}',
      '[1280,820]',
    ]) {
      assert.deepEqual(parseWindowState(text), DEFAULT_WINDOW, text)
    }
  })

  it('gives the default for a size below the smallest window, or not a whole number', () => {
    for (const [width, height] of [
      [MIN_WIDTH - 1, 800],
      [1000, MIN_HEIGHT - 1],
      [0, 0],
      [-1280, 820],
      [1280.5, 820],
      [1e9, 820],
    ]) {
      assert.deepEqual(
        parseWindowState(JSON.stringify({ width, height, maximized: false })),
        DEFAULT_WINDOW,
        `${width}x${height}`,
      )
    }
  })

  it('gives the default for NaN and Infinity, which JSON cannot hold', () => {
    assert.deepEqual(parseWindowState('{"width":NaN,"height":820}'), DEFAULT_WINDOW)
    assert.deepEqual(parseWindowState('{"width":Infinity,"height":820}'), DEFAULT_WINDOW)
    // Written by JSON.stringify, NaN becomes null: still the default.
    assert.deepEqual(
      parseWindowState(JSON.stringify({ width: Number.NaN, height: 820 })),
      DEFAULT_WINDOW,
    )
  })

  it('keeps a good size and drops a place that is not a pair of whole numbers', () => {
    assert.deepEqual(parseWindowState('{"width":1000,"height":700,"x":"10","y":20}'), {
      width: 1000,
      height: 700,
      maximized: false,
    })
    assert.deepEqual(parseWindowState('{"width":1000,"height":700,"x":10}'), {
      width: 1000,
      height: 700,
      maximized: false,
    })
    // `maximized` is true only when it says true.
    assert.equal(parseWindowState('{"width":1000,"height":700,"maximized":"yes"}').maximized, false)
  })

  it('reads back what it wrote, place and maximized included', () => {
    const s: WindowState = { x: -1500, y: 30, width: 1000, height: 700, maximized: true }
    assert.deepEqual(parseWindowState(JSON.stringify(s)), s)
  })
})

describe('saving and loading the window state', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tally-window-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('round-trips through a file only its owner can read, leaving no temporary file', () => {
    const file = join(dir, 'window-state.json')
    const s: WindowState = { x: 40, y: 50, width: 1100, height: 750, maximized: false }
    saveWindowState(file, s)
    assert.deepEqual(loadWindowState(file), s)
    if (process.platform !== 'win32') assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.deepEqual(readdirSync(dir), ['window-state.json'])
    assert.equal(existsSync(`${file}.tmp`), false)
    // Saved again over the first: replaced whole.
    const t: WindowState = { width: 800, height: 600, maximized: true }
    saveWindowState(file, t)
    assert.deepEqual(loadWindowState(file), t)
    assert.deepEqual(readdirSync(dir), ['window-state.json'])
  })

  it('loads the default from a file that is missing or damaged', () => {
    assert.deepEqual(loadWindowState(join(dir, 'none.json')), DEFAULT_WINDOW)
    const damaged = join(dir, 'damaged.json')
    writeFileSync(damaged, '{"width":1100,"hei')
    assert.deepEqual(loadWindowState(damaged), DEFAULT_WINDOW)
    // A folder where the file should be.
    assert.deepEqual(loadWindowState(dir), DEFAULT_WINDOW)
  })
})

describe('fitting the window to the displays there are now', () => {
  it('keeps a place on a display', () => {
    const s: WindowState = { x: 100, y: 80, width: 1280, height: 820, maximized: false }
    assert.deepEqual(fitToDisplays(s, [FULL_HD]), s)
  })

  it('drops a place on a display that is gone (x=3000 with only a 1920-wide display)', () => {
    const s: WindowState = { x: 3000, y: 100, width: 1280, height: 820, maximized: false }
    assert.deepEqual(fitToDisplays(s, [FULL_HD]), { width: 1280, height: 820, maximized: false })
  })

  it('drops a place whose title bar is above the top of every display', () => {
    const s: WindowState = { x: 100, y: -500, width: 1280, height: 820, maximized: false }
    const fitted = fitToDisplays(s, [FULL_HD])
    assert.equal(fitted.x, undefined)
    assert.equal(fitted.y, undefined)
  })

  it('keeps a place on a second display to the left, at negative x', () => {
    const left: Rect = { x: -1920, y: 0, width: 1920, height: 1080 }
    const s: WindowState = { x: -1500, y: 100, width: 1280, height: 820, maximized: false }
    assert.deepEqual(fitToDisplays(s, [FULL_HD, left]), s)
    // The same place once that display is unplugged is dropped.
    assert.equal(fitToDisplays(s, [FULL_HD]).x, undefined)
  })

  it('shrinks a window larger than the largest display to fit it', () => {
    const small: Rect = { x: 1920, y: 0, width: 1280, height: 1024 }
    const s: WindowState = { width: 2560, height: 1600, maximized: false }
    assert.deepEqual(fitToDisplays(s, [FULL_HD, small]), {
      width: 1920,
      height: 1080,
      maximized: false,
    })
  })

  it('keeps a window maximized', () => {
    const s: WindowState = { x: 3000, y: 0, width: 1280, height: 820, maximized: true }
    assert.equal(fitToDisplays(s, [FULL_HD]).maximized, true)
    assert.equal(fitToDisplays({ ...DEFAULT_WINDOW, maximized: true }, [FULL_HD]).maximized, true)
  })

  it('leaves the state as it is when no display is known', () => {
    const s: WindowState = { x: 3000, y: 0, width: 1280, height: 820, maximized: false }
    assert.deepEqual(fitToDisplays(s, []), s)
  })
})
