/**
 * `tally testnet`: the data folders of an N-member ledger on one machine, like `cometbft
 * testnet`. Node i listens for peers on 127.0.0.1:P+i and serves its API on P+100+i, and knows
 * the others as static peers, so each starts with `tally node --data D/node<i>` alone.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeypair } from '../ledger/crypto.ts'
import { encodeGenesis } from '../ledger/encoding.ts'
import { genesisError } from '../ledger/rules.ts'
import type { FaultModel, Genesis } from '../ledger/types.ts'
import { peerIdFromNodeId } from '../net/keys.ts'
import { Store } from '../store/store.ts'
import { DB_FILE } from './node.ts'

export interface TestnetOptions {
  readonly nodes: number
  readonly dir: string
  readonly basePort: number
  readonly faultModel: FaultModel
  readonly name?: string
  /** Extra settings for every node (timing in benchmarks, say). */
  readonly settings?: Record<string, unknown>
}

export interface TestnetNode {
  readonly dir: string
  readonly id: string
  readonly peerAddr: string
  readonly apiPort: number
}

export function createTestnet(o: TestnetOptions): TestnetNode[] {
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 64) {
    throw new Error('--nodes must be an integer from 1 to 64')
  }
  if (!Number.isInteger(o.basePort) || o.basePort < 1024 || o.basePort + 100 + o.nodes > 65_535) {
    throw new Error('--base-port must leave room for ports P to P+100+N below 65536')
  }
  const keys = Array.from({ length: o.nodes }, () => generateKeypair())
  const nodes = keys.map((k, i) => ({
    dir: join(o.dir, `node${i}`),
    id: k.keypair.id,
    peerAddr: `/ip4/127.0.0.1/tcp/${o.basePort + i}/p2p/${peerIdFromNodeId(k.keypair.id).toString()}`,
    apiPort: o.basePort + 100 + i,
  }))
  for (const n of nodes) {
    if (existsSync(join(n.dir, DB_FILE))) {
      throw new Error(`${join(n.dir, DB_FILE)} exists already; choose an empty --dir`)
    }
  }
  const genesis: Genesis = {
    name: o.name ?? 'testnet',
    time: Date.now(),
    faultModel: o.faultModel,
    members: nodes.map((n, i) => ({ id: n.id, name: `node${i}` })),
    assets: [],
  }
  const bad = genesisError(genesis)
  if (bad !== null) throw new Error(`genesis: ${bad}`)
  const genesisBytes = encodeGenesis(genesis)
  nodes.forEach((n, i) => {
    const store = Store.open(join(n.dir, DB_FILE))
    try {
      store.transaction(() => {
        store.setMeta('node-seed', keys[i]!.seed)
        store.setMeta('genesis', genesisBytes)
        store.setSetting('name', `node${i}`)
        store.setSetting('listen', [`/ip4/127.0.0.1/tcp/${o.basePort + i}`])
        store.setSetting(
          'peers',
          nodes.filter((p) => p !== n).map((p) => p.peerAddr),
        )
        store.setSetting('apiPort', n.apiPort)
        // Tests and demos on one machine need no LAN discovery; mDNS would also reach the real LAN.
        store.setSetting('mdns', false)
        for (const [k, v] of Object.entries(o.settings ?? {})) store.setSetting(k, v)
      })
    } finally {
      store.close()
    }
  })
  return nodes
}
