/**
 * `tally node`: one headless node and its API. When it is ready it prints one JSON line that
 * tools read (`{"event":"ready",…}`), and writes the API's address and token to `api.json` in
 * its data folder (readable by this user only), which `tally submit --data` and `status` use.
 */
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startApi } from '../api/server.ts'
import { TallyNode } from '../node/index.ts'
import { integer, type Options, required } from './options.ts'

export const API_FILE = 'api.json'

export async function runNode(o: Options): Promise<number> {
  const dataDir = required(o, 'data')
  const listen = o.listen as string[] | undefined
  const peers = o.peer as string[] | undefined
  let fatal: Error | null = null
  let done: (code: number) => void = () => {}
  const finished = new Promise<number>((resolve) => {
    done = resolve
  })
  const node = await TallyNode.start({
    dataDir,
    ...(listen === undefined ? {} : { listen }),
    ...(peers === undefined ? {} : { peers }),
    ...(o.mdns === true ? { mdns: true } : {}),
    onFatal: (error) => {
      fatal = error
      done(1)
    },
  })
  let api: Awaited<ReturnType<typeof startApi>>
  try {
    api = await startApi(node, {
      port: integer(o, 'api-port', node.settings.apiPort, 0, 65_535),
      testHooks: o['test-hooks'] === true,
    })
  } catch (error) {
    await node.stop()
    throw error
  }
  const apiFile = join(dataDir, API_FILE)
  writeFileSync(apiFile, JSON.stringify({ api: api.url, token: api.token, pid: process.pid }), {
    mode: 0o600,
  })
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.error(`tally node: ${signal}, stopping`)
    done(0)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  console.log(
    JSON.stringify({
      event: 'ready',
      pid: process.pid,
      nodeId: node.id,
      addrs: node.addrs(),
      api: api.url,
      token: api.token,
    }),
  )
  const code = await finished
  await api.close()
  await node.stop()
  rmSync(apiFile, { force: true })
  if (fatal !== null) console.error(`tally node: stopped: ${(fatal as Error).message}`)
  return code
}
