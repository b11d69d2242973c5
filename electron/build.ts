/**
 * Builds the desktop shell into dist-electron/ (run by `npm run build`): the main process and the
 * preload as CommonJS (a sandboxed preload must be one file that requires only `electron`), and
 * the core's utility-process entry as an ES module. Only the project's own code is bundled: the
 * packages it imports stay in node_modules, where electron-builder packs them and rebuilds
 * better-sqlite3 for Electron.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { type BuildOptions, build } from 'esbuild'

const root = join(import.meta.dirname, '..')
const OUT_DIR = join(root, 'dist-electron')

// Electron 45 runs Node 22.
const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  absWorkingDir: root,
}

rmSync(OUT_DIR, { recursive: true, force: true })
await Promise.all([
  build({
    ...common,
    entryPoints: ['electron/main/index.ts'],
    format: 'cjs',
    outfile: join(OUT_DIR, 'main.cjs'),
  }),
  build({
    ...common,
    entryPoints: ['electron/preload/index.ts'],
    format: 'cjs',
    // Bundled whole: a sandboxed preload can require `electron` and nothing else of ours.
    packages: 'bundle',
    external: ['electron'],
    outfile: join(OUT_DIR, 'preload.cjs'),
  }),
  build({
    ...common,
    entryPoints: ['core/cli/desktop-core-entry.ts'],
    format: 'esm',
    outfile: join(OUT_DIR, 'core.mjs'),
  }),
])
console.log(`electron: built ${OUT_DIR}`)
