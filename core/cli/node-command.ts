/**
 * `tally node`: one headless node and its API. When it is ready it prints one JSON line that
 * tools read (`{"event":"ready",…}`), and writes the API's address and token to `api.json` in
 * its data folder (readable by this user only), which `tally submit --data` and `status` use.
 * The API port also serves the built interface; the address to open, token included, goes to
 * stderr as `ui: http://127.0.0.1:<port>/#token=<token>`.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startApi } from '../api/server.ts'
import { Machine } from '../node/index.ts'
import { integer, type Options, required, UsageError } from './options.ts'

export const API_FILE = 'api.json'
/** The built interface, served from the API port (see core/api/static.ts). */
const UI_DIR = fileURLToPath(new URL('../../renderer/dist', import.meta.url))

export async function runNode(o: Options): Promise<number> {
  const dataDir = required(o, 'data')
  if (o.mdns === true && o['no-mdns'] === true)
    throw new UsageError('--mdns or --no-mdns, not both')
  const listen = o.listen as string[] | undefined
  const peers = o.peer as string[] | undefined
  // Before the machine starts, so that a bad file starts and stops nothing.
  const token = typeof o['token-file'] === 'string' ? tokenFrom(o['token-file']) : undefined
  let fatal: Error | null = null
  let done: (code: number) => void = () => {}
  const finished = new Promise<number>((resolve) => {
    done = resolve
  })
  const machine = await Machine.start({
    dataDir,
    ...(listen === undefined ? {} : { listen }),
    ...(peers === undefined ? {} : { peers }),
    ...(o.mdns === true ? { mdns: true } : {}),
    ...(o['no-mdns'] === true ? { mdns: false } : {}),
    onFatal: (error) => {
      fatal = error
      done(1)
    },
  })
  const settings = machine.node?.settings ?? machine.lobby!.settings
  let api: Awaited<ReturnType<typeof startApi>>
  try {
    api = await startApi(machine, {
      port: integer(o, 'api-port', settings.apiPort, 0, 65_535),
      ...(token === undefined ? {} : { token }),
      testHooks: o['test-hooks'] === true,
      staticDir: UI_DIR,
    })
  } catch (error) {
    await machine.stop()
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
  const node = machine.node
  const lobby = machine.lobby
  console.log(
    JSON.stringify({
      event: 'ready',
      pid: process.pid,
      nodeId: node?.id ?? lobby!.id,
      addrs: node?.addrs() ?? lobby!.addrs(),
      api: api.url,
      token: api.token,
      // Null on a first run: the machine waits for its user to create or join a ledger.
      ledger: node?.ledger ?? null,
    }),
  )
  // For people, on stderr: stdout stays the one JSON line that tools read.
  console.error(
    existsSync(join(UI_DIR, 'index.html'))
      ? `ui: ${api.url}/#token=${api.token}`
      : `ui: the interface is not built (${UI_DIR} has no index.html); \`npm run build\` builds it`,
  )
  if (node === null) {
    console.error(
      `tally node: no ledger in ${dataDir} yet: create one (tally create --data ${dataDir} --name NAME) or join one (tally join)`,
    )
  }
  const code = await finished
  await api.close()
  await machine.stop()
  rmSync(apiFile, { force: true })
  if (fatal !== null) console.error(`tally node: stopped: ${(fatal as Error).message}`)
  return code
}

/**
 * A fixed API token, for a browser tab that must outlive a restart of its node (`tally demo`).
 * Read from a file rather than an argument, which any user of the machine can see in `ps`; a
 * file that other users can read is used, with a warning on stderr.
 */
export function tokenFrom(file: string, warn: (line: string) => void = console.error): string {
  let token: string
  let fd: number | null = null
  try {
    fd = openSync(file, 'r')
    const mode = fstatSync(fd).mode & 0o777
    if ((mode & 0o077) !== 0) {
      warn(
        `tally node: warning: --token-file ${file} can be read or changed by other users (mode ${mode.toString(8).padStart(3, '0')}); chmod 600 it`,
      )
    }
    token = readFileSync(fd, 'utf8').trim()
  } catch (error) {
    throw new UsageError(`--token-file: ${(error as Error).message}`)
  } finally {
    if (fd !== null) closeSync(fd)
  }
  // The characters a URL fragment carries as they are, as the page reading `#token=` expects.
  if (!/^[A-Za-z0-9._~-]{32,256}$/.test(token)) {
    throw new UsageError(`--token-file: ${file} must hold 32 to 256 characters [A-Za-z0-9._~-]`)
  }
  return token
}
