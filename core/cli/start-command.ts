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
import { existsSync, readFileSync, statSync } from 'node:fs'
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
const PRODUCT_NAME = 'Tally'

/** Electron's binary, or why there is none. */
export type ElectronBinary =
  | { readonly found: true; readonly path: string; readonly version: string }
  | { readonly found: false; readonly reason: string }

/** The node's switches `tally start` takes, as `tally node` does, for either mode. */
interface NodeSwitches {
  readonly listen?: readonly string[]
  readonly noMdns: boolean
}

export async function runStart(o: Options): Promise<number> {
  const appDir =
    typeof o['data-dir'] === 'string'
      ? resolve(o['data-dir'])
      : desktopUserData(process.platform, process.env, homedir())
  const listen = o.listen as string[] | undefined
  const node: NodeSwitches = {
    ...(listen === undefined ? {} : { listen }),
    noMdns: o['no-mdns'] === true,
  }
  if (o.web === true) return runWeb(appDir, node)
  const electron = await findElectron(process.env, (line) => console.error(line))
  if (!electron.found) {
    return runWeb(appDir, node, `Electron is missing (${electron.reason})`)
  }
  const blocked = electronBlocked(process.platform, process.env, electron.path)
  if (blocked !== null) return runWeb(appDir, node, `Electron cannot run here (${blocked})`)
  let binding: string
  try {
    binding = await electronSqliteBinding(electron.version)
  } catch (error) {
    return runWeb(
      appDir,
      node,
      `Electron is here, but better-sqlite3 could not be built for it (${(error as Error).message})`,
    )
  }
  const args = [
    ...(typeof o['data-dir'] === 'string' ? ['--data-dir', appDir] : []),
    ...(node.listen ?? []).flatMap((a) => ['--listen', a]),
    ...(node.noMdns ? ['--no-mdns'] : []),
  ]
  return runElectron(electron.path, args, binding)
}

/**
 * Why Electron would fail to start here though its binary is present, or null: on Linux, no
 * display to open a window on (a session over SSH), or Chromium's sandbox refused by AppArmor
 * (Ubuntu 24.04 restricts unprivileged user namespaces, and the development binary's
 * chrome-sandbox is not setuid root; the deb installs a profile, a checkout has none).
 */
export function electronBlocked(
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
  binary: string,
  read: (file: string) => string | null = readOrNull,
  mode: (file: string) => { mode: number; uid: number } | null = statOrNull,
): string | null {
  if (platform !== 'linux') return null
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY)
    return 'no display: DISPLAY and WAYLAND_DISPLAY are unset'
  if (read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim() === '1') {
    const sandbox = join(dirname(binary), 'chrome-sandbox')
    const m = mode(sandbox)
    if (m === null || m.uid !== 0 || (m.mode & 0o4755) !== 0o4755) {
      return `AppArmor refuses Chromium's sandbox to unprivileged programs; make ${sandbox} setuid root (sudo chown root:root ${sandbox} && sudo chmod 4755 ${sandbox}), or install the deb`
    }
  }
  return null
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return null
  }
}

function statOrNull(file: string): { mode: number; uid: number } | null {
  try {
    const st = statSync(file)
    return { mode: st.mode, uid: st.uid }
  } catch {
    return null
  }
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
    const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null
    // As the electron package itself reads it: a binary supplied from elsewhere (a distribution's
    // package, Nix), named by ELECTRON_OVERRIDE_DIST_PATH, is used instead of a download.
    const override = env.ELECTRON_OVERRIDE_DIST_PATH
    if (override !== undefined && override !== '') {
      const path = join(override, name ?? 'electron')
      return existsSync(path) ? path : null
    }
    if (name === null) return null
    const path = join(dir, 'dist', name)
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

/**
 * Longest a download may take: about 100 MB at a slow office line's 1 MB/s, with room to spare. A
 * network that neither answers nor refuses (a DNS server with no way out) ends here, not never.
 */
const DOWNLOAD_TIMEOUT_MS = 5 * 60_000

/** Runs Electron's own installer; resolves with what went wrong, in one line, or null. */
function download(installer: string): Promise<string | null> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [installer], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    const timer = setTimeout(() => {
      child.kill()
      resolvePromise(`no download within ${DOWNLOAD_TIMEOUT_MS / 60_000} minutes`)
    }, DOWNLOAD_TIMEOUT_MS)
    child.stderr.on('data', (d) => {
      err = (err + String(d)).slice(-4_000)
    })
    child.on('error', (e) => {
      clearTimeout(timer)
      resolvePromise(e.message)
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
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

function runElectron(binary: string, args: readonly string[], binding: string): Promise<number> {
  console.error('tally start: starting the desktop app')
  const child = spawn(binary, [ROOT, ...args], {
    stdio: 'inherit',
    env: { ...process.env, TALLY_SQLITE_BINDING: binding },
  })
  // Ctrl-C reaches the whole process group, Electron included, which quits the app (its node
  // first): a second SIGINT from here would cut that short. SIGTERM is sent to this process
  // alone, so it is passed on.
  process.on('SIGINT', () => {})
  process.on('SIGTERM', () => child.kill('SIGTERM'))
  return new Promise((resolvePromise) => {
    child.on('error', (e) => {
      console.error(`tally start: Electron did not start: ${e.message}`)
      resolvePromise(1)
    })
    child.on('exit', (code) => resolvePromise(code ?? 1))
  })
}

/** The web mode; `why`, when given, is the one line saying why it is not the desktop app. */
async function runWeb(appDir: string, switches: NodeSwitches, why?: string): Promise<number> {
  if (why !== undefined) {
    console.error(`tally start: ${why}; running the interface in web mode instead`)
  }
  if (!uiBuilt()) {
    console.error(
      'tally start: the interface is not built; `npm start` builds it (`npm run build`)',
    )
    return 1
  }
  const dataDir = join(appDir, DESKTOP_NODE_FOLDER)
  const node = await openNode({
    dataDir,
    serveUi: true,
    ...(switches.listen === undefined ? {} : { listen: switches.listen }),
    ...(switches.noMdns ? { mdns: false } : {}),
  })
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
