/**
 * `npm run dist` (after `npm run build`): the installers, with electron-builder and
 * electron-builder.yml, into dist-installers/. Needs internet: electron-builder downloads Electron
 * and its packaging tools.
 *
 * electron-builder rebuilds better-sqlite3 for Electron in this folder's own node_modules, which
 * leaves it unloadable by the `node` that runs the tool and the tests; it is rebuilt for Node
 * afterwards, whether the packaging worked or not.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const run = (command: string, args: string[]) =>
  spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })

const built = run(npm, [
  'exec',
  '--',
  'electron-builder',
  '--config',
  'electron-builder.yml',
  '--publish',
  'never',
  ...process.argv.slice(2),
])
console.error('dist: rebuilding better-sqlite3 for Node, which the packaging rebuilt for Electron')
const restored = run(npm, ['rebuild', 'better-sqlite3'])
if (restored.status !== 0) {
  console.error(
    'dist: `npm rebuild better-sqlite3` failed: run it before `npm test` or `tally node`',
  )
}
process.exit(built.status ?? 1)
