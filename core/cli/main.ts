/**
 * The `tally` command. `node` runs a headless node, `testnet` makes the data folders of a ledger
 * on this machine, `submit` and `status` talk to a running node's API.
 */
import { readFileSync } from 'node:fs'
import { apiTarget, runCall, runStatus, runSubmit } from './client.ts'
import { runDemo } from './demo-command.ts'
import { runNode } from './node-command.ts'
import { type OptionSpec, options, required, UsageError } from './options.ts'
import { runStart } from './start-command.ts'
import { runTestnet } from './testnet-command.ts'

const USAGE = `usage: tally <command> [options]

  node      run a headless node; on an empty --data folder it waits to create or join a ledger
            --data DIR [--listen MULTIADDR]... [--peer MULTIADDR]... [--api-port P]
            [--mdns | --no-mdns]   (LAN discovery; on unless the settings say otherwise)
            [--token-file F]       (the API token kept in F, not a new one at each start)
            [--stop-on-stdin-eof]  (stop when standard input closes: a parent that holds
                                    the pipe takes the node with it, even when SIGKILLed)
  setup     where a running node stands: its ledger, or the ledgers it can see on the LAN
  create    make a ledger with this machine as its only member
            --name NAME [--fault-model crash|byzantine]
  join      ask to join a ledger: one listed by setup, or the one of the node at an address
            (--ledger ID | --addr MULTIADDR)
  requests  list the machines waiting to join this node's ledger
  approve   let a waiting machine join (an entry that adds it)       --id NODE_ID
  deny      refuse a waiting machine                                 --id NODE_ID
  remove    retire a member for good (an entry that removes it)      --id NODE_ID
            (setup to remove take --data DIR, or --api URL --token T, like status)
  testnet   write keys, a shared genesis and settings for N members on this machine
            --nodes N --dir D [--base-port P (26650)] [--fault-model crash|byzantine]
  submit    submit a transfer to a running node
            (--data DIR | --api URL --token T) --from A --to B --asset X --amount N [--memo M]
            [--idempotency-key K]   (a fresh one by default; give the one a failed submit
                                     printed to learn its outcome without a second entry)
  status    print a running node's status
            (--data DIR | --api URL --token T)
  start     the desktop app; where Electron cannot run, the same interface in web mode
            [--data-dir DIR] (the app's folder; its node/ holds the node)   [--web]
            [--listen MULTIADDR]... [--no-mdns]   (as for node)
  demo      three nodes of one ledger on this machine, their UI addresses, and keys that stop
            and start each one       [--dir D (./.tally-demo)] [--fresh] [--base-port P (27100)]
  version   print the version
  help      print this`

export async function main(args: readonly string[]): Promise<number> {
  const [command = 'help', ...rest] = args
  try {
    switch (command) {
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE)
        return 0
      case 'version':
      case '--version': {
        const pkg = JSON.parse(
          readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
        ) as { version: string }
        console.log(pkg.version)
        return 0
      }
      case 'node':
        return await runNode(options(rest, NODE_OPTIONS))
      case 'testnet':
        return runTestnet(options(rest, TESTNET_OPTIONS))
      case 'demo':
        return await runDemo(options(rest, DEMO_OPTIONS))
      case 'start':
        return await runStart(options(rest, START_OPTIONS))
      case 'submit': {
        const o = options(rest, SUBMIT_OPTIONS)
        return await runSubmit(() => apiTarget(o), o)
      }
      case 'status':
        return await runStatus(apiTarget(options(rest, CLIENT_OPTIONS)))
      case 'setup':
        return await runCall(apiTarget(options(rest, CLIENT_OPTIONS)), 'GET', '/api/setup')
      case 'requests':
        return await runCall(apiTarget(options(rest, CLIENT_OPTIONS)), 'GET', '/api/join-requests')
      case 'create': {
        const o = options(rest, CREATE_OPTIONS)
        const faultModel = o['fault-model'] ?? 'crash'
        return await runCall(apiTarget(o), 'POST', '/api/ledger', {
          name: required(o, 'name'),
          faultModel,
        })
      }
      case 'join': {
        const o = options(rest, JOIN_OPTIONS)
        if ((o.ledger === undefined) === (o.addr === undefined)) {
          throw new UsageError('give --ledger ID or --addr MULTIADDR')
        }
        return await runCall(apiTarget(o), 'POST', '/api/join', {
          ...(typeof o.ledger === 'string' ? { ledger: o.ledger } : {}),
          ...(typeof o.addr === 'string' ? { addr: o.addr } : {}),
        })
      }
      case 'approve':
      case 'deny': {
        const o = options(rest, ID_OPTIONS)
        const id = required(o, 'id')
        return await runCall(apiTarget(o), 'POST', `/api/join-requests/${id}/${command}`)
      }
      case 'remove': {
        const o = options(rest, ID_OPTIONS)
        return await runCall(apiTarget(o), 'POST', `/api/members/${required(o, 'id')}/remove`)
      }
    }
    console.error(`tally: unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
    return 2
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`tally ${command}: ${error.message}\n\n${USAGE}`)
      return 2
    }
    console.error(`tally ${command}: ${(error as Error).message}`)
    return 1
  }
}

const CLIENT_OPTIONS: OptionSpec = {
  data: { type: 'string' },
  api: { type: 'string' },
  token: { type: 'string' },
}
const SUBMIT_OPTIONS: OptionSpec = {
  ...CLIENT_OPTIONS,
  from: { type: 'string' },
  to: { type: 'string' },
  asset: { type: 'string' },
  amount: { type: 'string' },
  memo: { type: 'string' },
  'idempotency-key': { type: 'string' },
}
const CREATE_OPTIONS: OptionSpec = {
  ...CLIENT_OPTIONS,
  name: { type: 'string' },
  'fault-model': { type: 'string' },
}
const JOIN_OPTIONS: OptionSpec = {
  ...CLIENT_OPTIONS,
  ledger: { type: 'string' },
  addr: { type: 'string' },
}
const ID_OPTIONS: OptionSpec = { ...CLIENT_OPTIONS, id: { type: 'string' } }
const NODE_OPTIONS: OptionSpec = {
  data: { type: 'string' },
  listen: { type: 'string', multiple: true },
  peer: { type: 'string', multiple: true },
  'api-port': { type: 'string' },
  mdns: { type: 'boolean' },
  'no-mdns': { type: 'boolean' },
  'test-hooks': { type: 'boolean' },
  'token-file': { type: 'string' },
  'stop-on-stdin-eof': { type: 'boolean' },
}
const TESTNET_OPTIONS: OptionSpec = {
  nodes: { type: 'string' },
  dir: { type: 'string' },
  'base-port': { type: 'string' },
  'fault-model': { type: 'string' },
}
const START_OPTIONS: OptionSpec = {
  'data-dir': { type: 'string' },
  web: { type: 'boolean' },
  listen: { type: 'string', multiple: true },
  'no-mdns': { type: 'boolean' },
}
const DEMO_OPTIONS: OptionSpec = {
  dir: { type: 'string' },
  fresh: { type: 'boolean' },
  'base-port': { type: 'string' },
}
