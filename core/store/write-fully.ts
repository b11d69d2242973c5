/**
 * A write that is whole or an error. `write(2)` may write less than it was given (a full disk, a
 * signal, a file system's own limit) and says so only in its return value; a caller that ignores
 * it has a record on disk that is shorter than the one it believes it wrote.
 */
import { writeSync } from 'node:fs'

/** `writeSync`'s shape, so that a test can stand in a writer that writes a little at a time. */
export type PositionalWrite = (
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
) => number

/** Writes all of `data` at `position`, looping over short writes; throws if a write makes none. */
export function writeFully(
  fd: number,
  data: Uint8Array,
  position: number,
  write: PositionalWrite = writeSync,
): void {
  let done = 0
  while (done < data.length) {
    const n = write(fd, data, done, data.length - done, position + done)
    // No error and no progress: looping would spin for ever, and stopping would lose the rest.
    if (!(n > 0)) throw new Error(`a write made no progress after ${done} of ${data.length} bytes`)
    done += n
  }
}
