/**
 * The Tally mark: a rounded square in a status colour with a white tally (four strokes crossed
 * by a fifth), drawn as RGBA pixels from signed distances so every size is anti-aliased without
 * supersampling. Pure and deterministic: only + - * /, min/max and Math.sqrt, all exact in IEEE
 * arithmetic, so a size and colour give the same bytes on every machine and Node version.
 */

/** An sRGB colour, each channel 0–255. */
export type IconColour = readonly [r: number, g: number, b: number]

/**
 * Each colour keeps at least 3:1 contrast with the white mark (WCAG 1.4.11, graphics) and sits in
 * the middle of the lightness range, so the tray icon reads on light and dark panels alike.
 * committing, noQuorum and offline match the renderer's ok / warn / idle hues.
 */
export const ICON_COLOURS = {
  /** Calm teal-blue: the app itself, not a state. */
  brand: [0x1f, 0x6f, 0x8b],
  /** Green: the network reaches a quorum and entries settle. */
  committing: [0x1d, 0x7a, 0x3e],
  /** Amber: peers are there but too few to commit. */
  noQuorum: [0xb0, 0x6a, 0x00],
  /** Grey: no network service, or alone. */
  offline: [0x5f, 0x67, 0x73],
} as const satisfies Record<string, IconColour>

/** Geometry as fractions of the square's side, so the mark scales as one drawing. */
const CORNER = 0.22
const STROKE = 0.08
const STROKE_X = [0.215, 0.405, 0.595, 0.785] as const
const STROKE_TOP = 0.22
const STROKE_BOTTOM = 0.78
const SLASH_WIDTH = 0.095
const SLASH_FROM = [0.13, 0.65] as const
const SLASH_TO = [0.87, 0.35] as const
/** The gap cut around the slash: it separates it from the strokes where there are pixels to spare. */
const SLASH_GAP = 0.035

/** At or below this size the vertical strokes snap to whole pixels, so they stay crisp. */
const HINT_MAX = 64
/** From this size up the square leaves a margin, as desktop icon sets expect; tray icons fill. */
const MARGIN_MIN = 48
const MARGIN = 1 / 16
/** Below this size the slash's gap would only smear the strokes, so it is left out. */
const GAP_MIN = 48

interface Capsule {
  readonly ax: number
  readonly ay: number
  readonly bx: number
  readonly by: number
  readonly r: number
}

/** Distance from (px, py) to the capsule's edge: negative inside. */
function capsuleDistance(c: Capsule, px: number, py: number): number {
  const dx = c.bx - c.ax
  const dy = c.by - c.ay
  const t0 = ((px - c.ax) * dx + (py - c.ay) * dy) / (dx * dx + dy * dy)
  const t = clamp01(t0)
  const ex = px - (c.ax + t * dx)
  const ey = py - (c.ay + t * dy)
  return Math.sqrt(ex * ex + ey * ey) - c.r
}

/** Distance to the edge of a square [lo, hi]² with corners of radius r: negative inside. */
function roundedSquareDistance(lo: number, hi: number, r: number, px: number, py: number): number {
  const centre = (lo + hi) / 2
  const half = (hi - lo) / 2 - r
  const qx = Math.abs(px - centre) - half
  const qy = Math.abs(py - centre) - half
  const ox = Math.max(qx, 0)
  const oy = Math.max(qy, 0)
  return Math.sqrt(ox * ox + oy * oy) + Math.min(Math.max(qx, qy), 0) - r
}

/** Area coverage of a pixel by a shape, from the distance at its centre (a one-pixel ramp). */
function coverage(distance: number): number {
  return clamp01(0.5 - distance)
}

function clamp01(v: number): number {
  return Math.min(Math.max(v, 0), 1)
}

function verticalStrokes(lo: number, side: number, hinted: boolean): Capsule[] {
  // Hinted, a stroke is a whole number of pixels wide with its edges on pixel boundaries.
  const width = hinted ? Math.max(1, Math.floor(STROKE * side)) : STROKE * side
  return STROKE_X.map((fx) => {
    let cx = lo + fx * side
    if (hinted) cx = Math.round(cx - width / 2) + width / 2
    const r = width / 2
    // The caps are round, so the segment is shortened by the radius to keep the stroke's length.
    return {
      ax: cx,
      ay: lo + STROKE_TOP * side + r,
      bx: cx,
      by: lo + STROKE_BOTTOM * side - r,
      r,
    }
  })
}

/**
 * Draws the icon at `size`×`size` as non-premultiplied RGBA, row by row from the top: the square
 * in `colour` on transparency, the mark in white.
 */
export function drawIcon(size: number, colour: IconColour): Uint8Array {
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw new RangeError(`icon size must be an integer from 1 to 4096, got ${size}`)
  }
  const [red, green, blue] = colour
  for (const channel of colour) {
    if (!Number.isInteger(channel) || channel < 0 || channel > 255) {
      throw new RangeError(`colour channels must be integers 0–255, got ${colour.join(', ')}`)
    }
  }

  const margin = size >= MARGIN_MIN ? Math.round(size * MARGIN) : 0
  const lo = margin
  const hi = size - margin
  const side = hi - lo
  const corner = CORNER * side
  const strokes = verticalStrokes(lo, side, size <= HINT_MAX)
  const slash: Capsule = {
    ax: lo + SLASH_FROM[0] * side,
    ay: lo + SLASH_FROM[1] * side,
    bx: lo + SLASH_TO[0] * side,
    by: lo + SLASH_TO[1] * side,
    r: (SLASH_WIDTH * side) / 2,
  }
  const gap = size >= GAP_MIN ? SLASH_GAP * side : 0

  const out = new Uint8Array(size * size * 4)
  for (let y = 0; y < size; y++) {
    const py = y + 0.5
    for (let x = 0; x < size; x++) {
      const px = x + 0.5
      const body = coverage(roundedSquareDistance(lo, hi, corner, px, py))
      if (body === 0) continue // stays transparent black

      let nearest = Number.POSITIVE_INFINITY
      for (const s of strokes) {
        const d = capsuleDistance(s, px, py)
        nearest = Math.min(nearest, d)
      }
      const slashDistance = capsuleDistance(slash, px, py)
      const cut = gap > 0 ? coverage(slashDistance - gap) : 0
      const strokeCover = coverage(nearest) * (1 - cut)
      const slashCover = coverage(slashDistance)
      const white = Math.max(strokeCover, slashCover)

      const i = (y * size + x) * 4
      out[i] = Math.round(red + (255 - red) * white)
      out[i + 1] = Math.round(green + (255 - green) * white)
      out[i + 2] = Math.round(blue + (255 - blue) * white)
      out[i + 3] = Math.round(255 * body)
    }
  }
  return out
}
