/**
 * `tally start` (`npm start`, after `npm run build`): the desktop app where Electron can run;
 * where it cannot (no binary, and none can be downloaded: a machine without internet, or
 * ELECTRON_SKIP_BINARY_DOWNLOAD set), it says so in one line and serves the same interface in web
 * mode instead: a node on the desktop app's own data folder, with its address printed.
 *
 * `--data-dir DIR` is the desktop app's switch (electron/main/paths.ts) and means the same here:
 * the app's folder, whose `node/` is the node's data folder. `--web` skips Electron.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DESKTOP_NODE_FOLDER } from '../api/desktop-protocol.ts'
import { electronSqliteBinding } from './electron-native.ts'
import { openNode, uiBuilt, untilSignal } from './node-command.ts'
import type { Options } from './options.ts'

const require = createRequire(import.meta.url)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The product name Electron names the user-data folder after (package.json `productName`). */
export const PRODUCT_NAME = 'Tally'

/** Electron's binary, or why there is none. */
export type ElectronBinary =
  | { readonly found: true; readonly path: string; readonly version: string }
  | { readonly found: false; readonly reason: string }

export async function runStart(o: Options): Promise<number> {
  const appDir =
    typeof o['data-dir'] === 'string'
      ? resolve(o['data-dir'])
      : desktopUserData(process.platform, process.env, homedir())
  if (o.web !== true) {
    const electron = await findElectron(process.env, (line) => console.error(line))
    if (electron.found) {
      let binding: string
      try {
        binding = await electronSqliteBinding(electron.version)
      } catch (error) {
        console.error(
          `tally start: Electron is here, but better-sqlite3 could not be built for it (${(error as Error).message}); running the interface in web mode instead`,
        )
        return runWeb(appDir)
      }
      return runElectron(electron.path, appDir, typeof o['data-dir'] === 'string', binding)
    }
    console.error(
      `tally start: Electron is missing (${electron.reason}); running the interface in web mode instead`,
    )
  }
  return runWeb(appDir)
}

/**
 * Where Electron keeps the app's user data (`app.getPath('userData')`): the platform's
 * application-data folder and the product name. Mirrors Electron's own rule, so that web mode
 * opens the node the desktop app would.
 */
export function desktopUserData(
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
  home: string,
): string {
  if (platform === 'win32')
    return join(env.APPDATA || join(home, 'AppData', 'Roaming'), PRODUCT_NAME)
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', PRODUCT_NAME)
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), PRODUCT_NAME)
}

/**
 * The binary the `electron` package points at. Electron downloads it on first use; that is tried
 * once here (it prints nothing unless it fails), unless ELECTRON_SKIP_BINARY_DOWNLOAD says not to
 * try, as it does in CI and in the tests.
 */
export async function findElectron(
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
): Promise<ElectronBinary> {
  let dir: string
  try {
    dir = dirname(require.resolve('electron/package.json'))
  } catch {
    return { found: false, reason: 'the electron package is not installed; `npm ci` installs it' }
  }
  const version = (
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }
  ).version
  const installed = () => {
    const pathFile = join(dir, 'path.txt')
    if (!existsSync(pathFile)) return null
    const path = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim())
    return existsSync(path) ? path : null
  }
  let path = installed()
  if (path === null) {
    const skip = env.ELECTRON_SKIP_BINARY_DOWNLOAD
    if (skip !== undefined && skip !== '' && skip !== '0') {
      return {
        found: false,
        reason: `its binary is not downloaded, and ELECTRON_SKIP_BINARY_DOWNLOAD=${skip} says not to try`,
      }
    }
    // Said only if it takes a while: where there is no network it fails at once, and the one
    // line that matters then is why Electron is missing.
    const slow = setTimeout(
      () => say(`tally start: downloading Electron ${version} (once)…`),
      1_500,
    )
    const failure = await download(join(dir, 'install.js')).finally(() => clearTimeout(slow))
    path = installed()
    if (path === null) {
      return {
        found: false,
        reason: `its binary could not be downloaded: ${failure ?? 'no binary after the download'}`,
      }
    }
  }
  return { found: true, path, version }
}

/** Runs Electron's own installer; resolves with what went wrong, in one line, or null. */
function download(installer: string): Promise<string | null> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [installer], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => {
      err = (err + String(d)).slice(-4_000)
    })
    child.on('error', (e) => resolvePromise(e.message))
    child.on('exit', (code) => {
      if (code === 0) return resolvePromise(null)
      // Its stack trace is for Electron's developers; the first line says what failed.
      const first = err
        .split('\n')
        .find((l) => l.trim() !== '')
        ?.trim()
      resolvePromise(first?.replace(/^[A-Za-z]*Error: /, '') ?? `exit code ${code}`)
    })
  })
}

function runElectron(
  binary: string,
  appDir: string,
  dirGiven: boolean,
  binding: string,
): Promise<number> {
  console.error('tally start: starting the desktop app')
  const child = spawn(binary, [ROOT, ...(dirGiven ? ['--data-dir', appDir] : [])], {
    stdio: 'inherit',
    env: { ...process.env, TALLY_SQLITE_BINDING: binding },
  })
  // Ctrl-C in this terminal quits the app, which stops its node first.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => child.kill(signal))
  }
  return new Promise((resolvePromise) => {
    child.on('error', (e) => {
      console.error(`tally start: Electron did not start: ${e.message}`)
      resolvePromise(1)
    })
    child.on('exit', (code) => resolvePromise(code ?? 1))
  })
}

async function runWeb(appDir: string): Promise<number> {
  if (!uiBuilt()) {
    console.error(
      'tally start: the interface is not built; `npm start` builds it (`npm run build`)',
    )
    return 1
  }
  const dataDir = join(appDir, DESKTOP_NODE_FOLDER)
  const node = await openNode({ dataDir, serveUi: true })
  const stopped = untilSignal('tally start')
  console.log(`Tally is running in web mode. Open ${node.api.url}/#token=${node.api.token}`)
  console.log(`Its data folder is ${dataDir}. Ctrl-C stops it.`)
  const outcome = await Promise.race([stopped.then(() => null), node.failed])
  await node.close()
  if (outcome !== null) {
    console.error(`tally start: the node stopped: ${outcome.message}`)
    return 1
  }
  return 0
}
