/**
 * Writes the packaged app's icons into build/ (electron-builder's buildResources):
 * build/icon.png for macOS and Windows (electron-builder converts a 1024 px PNG itself) and the
 * sized set in build/icons/ that the Linux targets want, each file named by its size.
 *
 *   node --import tsx electron/icons/make-icons.ts
 *
 * The PNGs are committed so packaging needs no build step for them; a unit test redraws them and
 * fails when they are stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { drawIcon, ICON_COLOURS } from './art.ts'
import { encodePng } from './png.ts'

/** The hicolor sizes electron-builder copies for Linux (it takes them from the file names). */
export const LINUX_ICON_SIZES = [16, 32, 48, 64, 128, 256, 512] as const
/** macOS wants 1024 px for the Retina 512@2x slot; Windows scales down from it. */
export const APP_ICON_SIZE = 1024

export interface IconFile {
  /** Path relative to the project root. */
  readonly path: string
  readonly size: number
}

export function iconFiles(): IconFile[] {
  return [
    { path: 'build/icon.png', size: APP_ICON_SIZE },
    ...LINUX_ICON_SIZES.map((n) => ({ path: `build/icons/${n}x${n}.png`, size: n })),
  ]
}

export function renderIcon(size: number): Buffer {
  return encodePng(size, size, drawIcon(size, ICON_COLOURS.brand))
}

function main(): void {
  const root = resolve(import.meta.dirname, '../..')
  mkdirSync(join(root, 'build/icons'), { recursive: true })
  for (const file of iconFiles()) {
    const target = join(root, file.path)
    writeFileSync(target, renderIcon(file.size))
    console.log(`wrote ${relative(process.cwd(), target)} (${file.size}x${file.size})`)
  }
}

// Importable by the tests without writing anything.
if (import.meta.filename === process.argv[1]) main()
