/**
 * The `tally` command. Today it only knows what exists: the node, the desktop app and the demo
 * arrive with the next issues, and saying so plainly beats a command that half works.
 */
import { readFileSync } from 'node:fs'

const USAGE = `usage: tally <command>

  start     the desktop app                 (not built yet)
  demo      three nodes of one ledger       (not built yet)
  node      run a headless node             (not built yet)
  version   print the version
  help      print this

What runs today is the ledger core, the consensus engine and its simulator:
  npm test                 typecheck, lint, unit tests and 2,000 simulated schedules
  npm run sim -- --help    the deterministic simulator
  npm run bench:core       crypto, block application and simulated consensus speed`

const NOT_YET = new Set(['start', 'demo', 'node', 'testnet', 'submit', 'status'])

export async function main(args: readonly string[]): Promise<number> {
  const [command = 'help'] = args
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE)
    return 0
  }
  if (command === 'version' || command === '--version') {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string
    }
    console.log(pkg.version)
    return 0
  }
  if (NOT_YET.has(command)) {
    console.error(
      `tally ${command}: not built yet. This checkout has the ledger core, the consensus engine and its simulator; see README.md.`,
    )
    return 2
  }
  console.error(`tally: unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
  return 2
}
