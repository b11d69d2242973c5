/** `tally testnet`: prints one line per node, the folder and how to start it. */
import { createTestnet } from '../node/testnet.ts'
import { integer, type Options, required, UsageError } from './options.ts'

export function runTestnet(o: Options): number {
  const model = o['fault-model'] ?? 'crash'
  if (model !== 'crash' && model !== 'byzantine') {
    throw new UsageError('--fault-model must be crash or byzantine')
  }
  const nodes = createTestnet({
    nodes: integer(o, 'nodes', 3, 1, 64),
    dir: required(o, 'dir'),
    basePort: integer(o, 'base-port', 26_650, 1024, 65_000),
    faultModel: model,
  })
  for (const n of nodes) {
    console.log(
      `${n.dir}  id ${n.id.slice(0, 16)}  peers ${n.peerAddr}  api 127.0.0.1:${n.apiPort}`,
    )
  }
  console.log(`start each with: tally node --data <dir>`)
  return 0
}
