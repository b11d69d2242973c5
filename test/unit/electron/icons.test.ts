/**
 * The icon pipeline: the PNG encoder writes files any decoder accepts (checked here against the
 * spec with node's own zlib and CRC, not the encoder's), the committed icons are what the code
 * draws today, and the status colours stay distinct and readable at tray sizes.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import { inflateSync, crc32 as zlibCrc32 } from 'node:zlib'
import { drawIcon, ICON_COLOURS, type IconColour } from '../../../electron/icons/art.ts'
import { APP_ICON_SIZE, iconFiles, LINUX_ICON_SIZES } from '../../../electron/icons/make-icons.ts'
import { crc32, encodePng } from '../../../electron/icons/png.ts'

const root = resolve(import.meta.dirname, '../../..')
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

interface Chunk {
  type: string
  data: Buffer
  crc: number
}

/** Splits a PNG into chunks, checking the signature and that the chunks fill the file exactly. */
function chunks(png: Buffer): Chunk[] {
  assert.deepEqual([...png.subarray(0, 8)], SIGNATURE, 'PNG signature')
  const out: Chunk[] = []
  let at = 8
  while (at < png.length) {
    assert.ok(at + 12 <= png.length, `chunk header at ${at} runs past the end`)
    const length = png.readUInt32BE(at)
    const type = png.toString('latin1', at + 4, at + 8)
    assert.ok(at + 12 + length <= png.length, `${type} runs past the end`)
    out.push({
      type,
      data: png.subarray(at + 8, at + 8 + length),
      crc: png.readUInt32BE(at + 8 + length),
    })
    at += 12 + length
  }
  assert.equal(at, png.length)
  return out
}

interface Decoded {
  width: number
  height: number
  pixels: Uint8Array
}

/** Decodes what our encoder may write: 8-bit RGBA, one IDAT, filter 0 on every row. */
function decode(png: Buffer): Decoded {
  const list = chunks(png)
  assert.deepEqual(
    list.map((c) => c.type),
    ['IHDR', 'IDAT', 'IEND'],
  )
  for (const c of list) {
    const typeAndData = Buffer.concat([Buffer.from(c.type, 'latin1'), c.data])
    assert.equal(c.crc, zlibCrc32(typeAndData), `${c.type} CRC`)
  }
  const [ihdr, idat, iend] = list as [Chunk, Chunk, Chunk]
  assert.equal(ihdr.data.length, 13)
  assert.equal(iend.data.length, 0)
  const width = ihdr.data.readUInt32BE(0)
  const height = ihdr.data.readUInt32BE(4)
  assert.deepEqual(
    [...ihdr.data.subarray(8)],
    [8, 6, 0, 0, 0],
    'depth, RGBA, deflate, filter, no interlace',
  )

  const raw = inflateSync(idat.data)
  const stride = 4 * width
  assert.equal(raw.length, height * (1 + stride))
  const pixels = new Uint8Array(height * stride)
  for (let y = 0; y < height; y++) {
    const row = y * (1 + stride)
    assert.equal(raw[row], 0, `filter byte of row ${y}`)
    pixels.set(raw.subarray(row + 1, row + 1 + stride), y * stride)
  }
  return { width, height, pixels }
}

/** Deterministic bytes that use every value, so a swapped or dropped byte shows. */
function pattern(length: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = 12345
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = (x >>> 16) & 0xff
  }
  return out
}

test('encodePng writes a PNG that decodes to the same pixels, CRCs and all', () => {
  const width = 7
  const height = 5
  const rgba = pattern(width * height * 4)
  const png = encodePng(width, height, rgba)
  const decoded = decode(png)
  assert.equal(decoded.width, width)
  assert.equal(decoded.height, height)
  assert.deepEqual(decoded.pixels, rgba)
})

test('a one-pixel PNG is exactly the bytes the spec lays out', () => {
  const png = encodePng(1, 1, Uint8Array.of(10, 20, 30, 40))
  // 8 signature + (12 + 13) IHDR + (12 + IDAT) + 12 IEND
  const idatLength = png.readUInt32BE(8 + 25)
  assert.equal(png.length, 8 + 25 + 12 + idatLength + 12)
  assert.equal(png.toString('latin1', 8 + 4, 8 + 8), 'IHDR')
  assert.deepEqual(
    [...png.subarray(-12)],
    [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82],
  )
  // One row: its filter byte, then the pixel.
  assert.deepEqual([...inflateSync(chunks(png)[1]!.data)], [0, 10, 20, 30, 40])
  assert.deepEqual([...decode(png).pixels], [10, 20, 30, 40])
})

test("the encoder's CRC-32 is the standard one", () => {
  for (const bytes of [new Uint8Array(0), Buffer.from('IEND'), pattern(1000)]) {
    assert.equal(crc32(bytes), zlibCrc32(bytes))
  }
})

test('encodePng refuses a pixel buffer of the wrong length and empty sizes', () => {
  assert.throws(() => encodePng(2, 2, new Uint8Array(15)), RangeError)
  assert.throws(() => encodePng(0, 1, new Uint8Array(0)), RangeError)
  assert.throws(() => encodePng(1.5, 2, new Uint8Array(12)), RangeError)
})

test('the committed icons are what make-icons draws now (rerun it after changing the art)', () => {
  for (const file of iconFiles()) {
    const decoded = decode(readFileSync(join(root, file.path)))
    assert.equal(decoded.width, file.size, file.path)
    assert.equal(decoded.height, file.size, file.path)
    // Pixels, not bytes: another zlib may compress the same pixels differently.
    assert.ok(
      Buffer.from(decoded.pixels).equals(drawIcon(file.size, ICON_COLOURS.brand)),
      `${file.path} is stale: run node --import tsx electron/icons/make-icons.ts`,
    )
  }
})

test('the Linux icon folder holds exactly the sized set, named as electron-builder reads them', () => {
  const names = readdirSync(join(root, 'build/icons')).sort()
  assert.deepEqual(names, LINUX_ICON_SIZES.map((n) => `${n}x${n}.png`).sort())
  assert.ok(iconFiles().some((f) => f.path === 'build/icon.png' && f.size === APP_ICON_SIZE))
  assert.equal(APP_ICON_SIZE, 1024, 'macOS needs 1024 px for the 512@2x slot')
})

/** WCAG relative luminance of an sRGB colour. */
function luminance([r, g, b]: IconColour): number {
  const lin = (c: number) => {
    const s = c / 255
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

test('the four named colours are distinct from each other', () => {
  const entries = Object.entries(ICON_COLOURS)
  assert.deepEqual(entries.map(([name]) => name).sort(), [
    'brand',
    'committing',
    'noQuorum',
    'offline',
  ])
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      const [a, ca] = entries[i]!
      const [b, cb] = entries[j]!
      const distance = Math.sqrt(ca.reduce<number>((sum, v, k) => sum + (v - cb[k]!) ** 2, 0))
      assert.ok(distance >= 60, `${a} and ${b} are too alike (${distance.toFixed(1)})`)
    }
  }
})

test('every named colour keeps 3:1 contrast with the white mark (WCAG graphics)', () => {
  for (const [name, colour] of Object.entries(ICON_COLOURS)) {
    const ratio = 1.05 / (luminance(colour) + 0.05)
    assert.ok(ratio >= 3, `${name}: ${ratio.toFixed(2)}:1`)
  }
})

/** The commonest fully opaque pixel in the middle half of a square icon, as "r,g,b". */
function commonestInMiddle(pixels: Uint8Array, size: number): { key: string; share: number } {
  const counts = new Map<string, number>()
  const lo = Math.floor(size / 4)
  const hi = size - lo
  for (let y = lo; y < hi; y++) {
    for (let x = lo; x < hi; x++) {
      const i = (y * size + x) * 4
      if (pixels[i + 3] !== 255) continue
      const key = `${pixels[i]},${pixels[i + 1]},${pixels[i + 2]}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
  }
  const [key, count] = [...counts].sort((a, b) => b[1] - a[1])[0]!
  return { key, share: count / ((hi - lo) * (hi - lo)) }
}

test('the tray sizes show the status colour in the middle, with a white mark on it', () => {
  for (const size of [16, 32]) {
    for (const [name, colour] of Object.entries(ICON_COLOURS)) {
      const pixels = drawIcon(size, colour)
      const { key, share } = commonestInMiddle(pixels, size)
      assert.equal(key, colour.join(','), `${name} at ${size} px`)
      assert.ok(share >= 0.4, `${name} at ${size} px: only ${(share * 100).toFixed(0)}% colour`)
      const whites = whiteCount(pixels)
      assert.ok(whites >= size, `${name} at ${size} px: ${whites} white pixels is no mark`)
    }
  }
})

function whiteCount(pixels: Uint8Array): number {
  let n = 0
  for (let i = 0; i < pixels.length; i += 4) {
    if (
      pixels[i] === 255 &&
      pixels[i + 1] === 255 &&
      pixels[i + 2] === 255 &&
      pixels[i + 3] === 255
    )
      n++
  }
  return n
}

test('the square has transparent rounded corners and an anti-aliased edge', () => {
  for (const size of [16, 32, 1024]) {
    const pixels = drawIcon(size, ICON_COLOURS.brand)
    for (const [x, y] of [
      [0, 0],
      [size - 1, 0],
      [0, size - 1],
      [size - 1, size - 1],
    ] as const) {
      assert.equal(pixels[(y * size + x) * 4 + 3], 0, `corner ${x},${y} at ${size} px`)
    }
    const alphas = new Set<number>()
    for (let i = 3; i < pixels.length; i += 4) alphas.add(pixels[i]!)
    assert.ok(
      [...alphas].some((a) => a > 0 && a < 255),
      `no partial alpha at ${size} px`,
    )
  }
})

test('drawIcon refuses sizes and colours it cannot draw', () => {
  assert.throws(() => drawIcon(0, ICON_COLOURS.brand), RangeError)
  assert.throws(() => drawIcon(16.5, ICON_COLOURS.brand), RangeError)
  assert.throws(() => drawIcon(16, [256, 0, 0]), RangeError)
})
