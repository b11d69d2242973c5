/**
 * A minimal PNG encoder: 8-bit RGBA, no interlacing, one IDAT. Enough for the app and tray icons,
 * so the icons are drawn from code at build time and at run time without an image library
 * (a native one such as sharp would be one more module to rebuild for Electron).
 */
import { deflateSync } from 'node:zlib'

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

const COLOUR_TYPE_RGBA = 6
const BIT_DEPTH = 8
const FILTER_NONE = 0

/** The CRC-32 table (ISO 3309, the polynomial PNG names), built once on first use. */
let crcTable: Uint32Array | undefined

function table(): Uint32Array {
  if (crcTable) return crcTable
  crcTable = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    crcTable[n] = c >>> 0
  }
  return crcTable
}

/** CRC-32 over the bytes, as PNG computes it over a chunk's type and data. */
export function crc32(bytes: Uint8Array): number {
  const t = table()
  let c = 0xffffffff
  for (const b of bytes) c = t[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  out.set(data, 8)
  // The CRC covers the type and the data, not the length.
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

/**
 * Encodes `rgba` (row-major, 4 bytes a pixel, not premultiplied) as a PNG. Every row gets filter
 * type 0: the icons are small and flat, so smarter filters would save little, and a fixed filter
 * with a fixed zlib level keeps the output byte-for-byte deterministic.
 */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`PNG size must be positive integers, got ${width}x${height}`)
  }
  // PNG stores sizes as 31-bit integers.
  if (width > 0x7fffffff || height > 0x7fffffff) throw new RangeError('PNG size too large')
  const stride = width * 4
  if (rgba.length !== stride * height) {
    throw new RangeError(`expected ${stride * height} RGBA bytes, got ${rgba.length}`)
  }

  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = BIT_DEPTH
  ihdr[9] = COLOUR_TYPE_RGBA
  ihdr[10] = 0 // compression: deflate, the only one defined
  ihdr[11] = 0 // filter method: adaptive, the only one defined
  ihdr[12] = 0 // no interlace

  const raw = Buffer.alloc((stride + 1) * height)
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1)
    raw[row] = FILTER_NONE
    raw.set(rgba.subarray(y * stride, (y + 1) * stride), row + 1)
  }

  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ])
}
