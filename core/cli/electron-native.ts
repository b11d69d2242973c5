/**
 * better-sqlite3 built for Electron, for the desktop app run from this folder (`npm start`).
 * Electron's Node has another ABI than the `node` that runs the tests, and one folder of
 * better-sqlite3 cannot hold both builds (its loader takes build/Release first), so a copy of the
 * module is rebuilt for Electron under node_modules/.cache and the core is told to load that one
 * (core/store/sqlite.ts, useSqliteBinding). Built once per Electron version.
 *
 * Packaged apps do not use this: electron-builder rebuilds the module for the installer.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

/** Where the build for `electronVersion` lives, and its addon. */
function place(electronVersion: string): {
  source: string
  version: string
  root: string
  addon: string
} {
  const source = dirname(require.resolve('better-sqlite3/package.json'))
  const version = (
    JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { version: string }
  ).version
  // node_modules/.cache: where tools keep what a fresh `npm ci` may throw away.
  const root = join(
    dirname(source),
    '.cache',
    'tally-electron',
    `electron-${electronVersion}-better-sqlite3-${version}-${process.platform}-${process.arch}`,
  )
  return { source, version, root, addon: addonIn(root) }
}

function addonIn(root: string): string {
  return join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')
}

/** The addon for `electronVersion` if it has been built, else null; never builds. */
export function cachedElectronSqliteBinding(electronVersion: string): string | null {
  const { addon } = place(electronVersion)
  return existsSync(addon) ? addon : null
}

/** The compiled addon to load in Electron `electronVersion`, built if it is not there yet. */
export async function electronSqliteBinding(electronVersion: string): Promise<string> {
  const { source, version, root, addon } = place(electronVersion)
  if (existsSync(addon)) return addon
  // Built aside and moved into place whole: two starts at once each build their own, and neither
  // ever loads a half-built addon.
  const work = `${root}.${process.pid}.tmp`
  rmSync(work, { recursive: true, force: true })
  mkdirSync(join(work, 'node_modules'), { recursive: true })
  try {
    writeFileSync(
      join(work, 'package.json'),
      JSON.stringify({
        name: 'tally-electron-native',
        private: true,
        dependencies: { 'better-sqlite3': version },
      }),
    )
    // Only the compiled addon of the copy is ever loaded (the JS is the one in node_modules), so
    // the module alone is copied, sources and all, for node-gyp to build.
    cpSync(source, join(work, 'node_modules', 'better-sqlite3'), { recursive: true })
    const { rebuild } = await import('@electron/rebuild')
    await rebuild({
      buildPath: work,
      electronVersion,
      onlyModules: ['better-sqlite3'],
      force: true,
    })
    if (!existsSync(addonIn(work))) throw new Error(`the rebuild made no ${addonIn(work)}`)
    try {
      renameSync(work, root)
    } catch (error) {
      // Another start got there first: its build is as good as this one.
      if (!existsSync(addon)) throw error
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return addon
}
