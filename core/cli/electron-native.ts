/**
 * better-sqlite3 built for Electron, for the desktop app run from this folder (`npm start`).
 * Electron's Node has another ABI than the `node` that runs the tests, and one folder of
 * better-sqlite3 cannot hold both builds (its loader takes build/Release first), so a copy of the
 * module is rebuilt for Electron under node_modules/.cache and the core is told to load that one
 * (core/store/sqlite.ts, useSqliteBinding). Built once per Electron version.
 *
 * Packaged apps do not use this: electron-builder rebuilds the module for the installer.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

/** The compiled addon to load in Electron `electronVersion`, built if it is not there yet. */
export async function electronSqliteBinding(electronVersion: string): Promise<string> {
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
  const addon = join(
    root,
    'node_modules',
    'better-sqlite3',
    'build',
    'Release',
    'better_sqlite3.node',
  )
  const done = join(root, 'built')
  if (existsSync(done) && existsSync(addon)) return addon

  rmSync(root, { recursive: true, force: true })
  mkdirSync(join(root, 'node_modules'), { recursive: true })
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({
      name: 'tally-electron-native',
      private: true,
      dependencies: { 'better-sqlite3': version },
    }),
  )
  // Only the compiled addon of the copy is ever loaded (the JS is the one in node_modules), so
  // the module alone is copied, sources and all, for node-gyp to build.
  cpSync(source, join(root, 'node_modules', 'better-sqlite3'), { recursive: true })
  const { rebuild } = await import('@electron/rebuild')
  await rebuild({ buildPath: root, electronVersion, onlyModules: ['better-sqlite3'], force: true })
  if (!existsSync(addon)) throw new Error(`the rebuild made no ${addon}`)
  writeFileSync(done, `${new Date().toISOString()}\n`)
  return addon
}
