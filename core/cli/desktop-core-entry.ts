/**
 * The utility process's entry (bundled to dist-electron/core.mjs): runs core/cli/desktop-core.ts
 * on Electron's `process.parentPort`, and exits with its code once the node has stopped.
 */
import { type ParentPort, runDesktopCore } from './desktop-core.ts'

const parent = (process as { parentPort?: ParentPort }).parentPort
if (parent === undefined) {
  console.error("tally: this is the desktop app's core; run it with `npm start`, or `tally node`")
  process.exit(2)
}
process.exit(await runDesktopCore(parent, process.argv.slice(2)))
