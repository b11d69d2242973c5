#!/usr/bin/env node
// The `tally` command in a checkout: TypeScript runs through tsx, no build step needed.
import { register } from 'tsx/esm/api'

register()
// A reader of our output that goes away (a terminal closed, a parent that died, `| head`) must not
// kill a running node in the middle of its work: what it would have read is lost anyway.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error
  })
}
const { main } = await import('../core/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
