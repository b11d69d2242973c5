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
// Ctrl-C in a terminal reaches every process of the app at once: main quits the app and tells
// the core to stop, which is how it must stop, its node first; SIGTERM (main's kill) still ends it.
process.on('SIGINT', () => {})
process.exit(await runDesktopCore(parent, process.argv.slice(2)))
