import { fileURLToPath } from 'node:url'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'

// The app is served by `tally node` from its API port (and later loaded by Electron from disk),
// so every asset path is relative and nothing is fetched from anywhere else.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Source maps stay out of what users get; `npm run build -- --sourcemap` makes them.
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
})
