/**
 * Where the desktop app keeps its data. By default everything lives in Electron's
 * `app.getPath('userData')` (on Linux `~/.config/Tally`): the node's data folder in `node/`
 * beside Chromium's own files and the window's size and place. `--data-dir DIR` puts all of it in
 * DIR instead, Chromium's profile and the single-instance lock included, so two instances can run
 * on one machine for a demo, each with its own node.
 */
import { join, resolve } from 'node:path'
import { DESKTOP_NODE_FOLDER } from '../../core/api/desktop-protocol.ts'

/** The switch, as it is given: `--data-dir DIR` or `--data-dir=DIR`. */
const DATA_DIR_SWITCH = '--data-dir'

export interface AppPaths {
  /** Electron's userData: Chromium's profile, and the folder the single-instance lock is kept for. */
  readonly userData: string
  /** The node's data folder (keys, SQLite, vote log): what `tally node --data` would be given. */
  readonly nodeData: string
  /** The window's last size and place. */
  readonly windowState: string
}

export class ArgsError extends Error {}

/**
 * The data folder given on the command line, resolved against `cwd`; null when none is given.
 * Electron adds switches of its own (and the app's path when run as `electron .`), which are
 * left alone. Throws ArgsError on a switch given twice or without a folder.
 */
export function dataDirArg(argv: readonly string[], cwd: string): string | null {
  let found: string | null = null
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    let value: string | undefined
    if (a === DATA_DIR_SWITCH) {
      value = argv[i + 1]
      i++
      if (value === undefined || value.startsWith('--')) {
        throw new ArgsError(`${DATA_DIR_SWITCH} needs a folder: ${DATA_DIR_SWITCH} DIR`)
      }
    } else if (a.startsWith(`${DATA_DIR_SWITCH}=`)) {
      value = a.slice(DATA_DIR_SWITCH.length + 1)
    } else continue
    if (value === '')
      throw new ArgsError(`${DATA_DIR_SWITCH} needs a folder: ${DATA_DIR_SWITCH} DIR`)
    if (found !== null) throw new ArgsError(`${DATA_DIR_SWITCH} is given twice`)
    found = resolve(cwd, value)
  }
  return found
}

/** The app's paths under `userData` (Electron's default, or the folder `--data-dir` named). */
export function appPaths(userData: string): AppPaths {
  return {
    userData,
    nodeData: join(userData, DESKTOP_NODE_FOLDER),
    windowState: join(userData, 'window-state.json'),
  }
}

/**
 * The node's own switches given to the app (`--listen ADDR`, repeatable, and `--no-mdns`, as
 * `tally node` takes them), passed on to the core as they are: `tally start` forwards them, and
 * tests use them to keep a node on loopback. Anything else is left alone.
 */
export function coreSwitches(argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--no-mdns') out.push(a)
    else if (a === '--listen') {
      const value = argv[i + 1]
      if (value === undefined || value.startsWith('--')) {
        throw new ArgsError('--listen needs an address: --listen MULTIADDR')
      }
      out.push('--listen', value)
      i++
    } else if (a.startsWith('--listen=')) out.push('--listen', a.slice('--listen='.length))
  }
  return out
}
