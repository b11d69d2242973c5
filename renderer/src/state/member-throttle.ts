/**
 * At most one call per `ms`: the first at once, and one more at the end of the window for any
 * asked during it, so the last change is never missed. A block arrives about every second, and
 * the members list is asked again only because one of them might have changed it.
 */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
}

export function throttle(fn: () => void, ms: number, clock: Clock = realClock): () => void {
  let last = Number.NEGATIVE_INFINITY
  let scheduled = false
  const run = () => {
    last = clock.now()
    fn()
  }
  return () => {
    if (scheduled) return
    const wait = last + ms - clock.now()
    if (wait <= 0) {
      run()
      return
    }
    scheduled = true
    clock.setTimeout(() => {
      scheduled = false
      run()
    }, wait)
  }
}
