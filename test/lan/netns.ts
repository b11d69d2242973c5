/**
 * A virtual office LAN for tests that must run mDNS or cut cables: one bridge and N hosts, each
 * in its own network namespace, joined by veth "cables". The bridge lives in a namespace of its
 * own too, so the machine's root namespace gets no interface, address or route: multicast from a
 * test can never reach the real network (DESIGN.md, "Test environment facts").
 *
 * Layout for a Lan tagged `tly-<pid36>-<seq>` (pid in base 36, seq counts Lans in this process):
 *
 *   namespace tly-…-br:  bridge `tly-…b`, ports `tly-…p0`, `tly-…p1`, …   (no addresses)
 *   namespace tly-…-h<i>: lo up, `tly-…e<i>` = 10.77.<k>.<i+1>/24, route 224.0.0.0/4, no default
 *
 * Because every LAN is its own set of namespaces, two LANs with the same subnet cannot clash;
 * `k` only varies so that logs of concurrent runs are easier to tell apart.
 *
 * Unplugging downs the bridge-side port, not the host's interface. The host then sees what a
 * pulled cable shows: carrier lost (NO-CARRIER), its address and routes kept (marked
 * `linkdown`), sends silently dropped, no RST, no error on open sockets. An established TCP
 * connection stays open across an unplug and delivers what was written meanwhile once plugged
 * back (netns.test.ts checks this). Downing the host's own interface instead would delete its
 * routes and make sends fail at once with ENETUNREACH, which no real cable pull does.
 */
import {
  type ChildProcess,
  execFile,
  execFileSync,
  type SpawnOptions,
  spawn,
} from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

export interface LanHost {
  readonly index: number
  /** The host's network namespace, for `ip netns exec` / `ip -n`. */
  readonly ns: string
  readonly ip: string
  /** The bridge-side end of the host's cable (in `Lan.bridgeNs`): the end `unplug` downs. */
  readonly veth: string
  /** The host-side end of the cable, inside `ns`: the interface the host's programs see. */
  readonly iface: string
}

export interface LanOptions {
  readonly hosts: number
  /** 1-6 lowercase letters or digits, starting with a letter; `tly` unless given. */
  readonly prefix?: string
}

const DEFAULT_PREFIX = 'tly'
const MULTICAST = '224.0.0.0/4'
/** Linux's IFNAMSIZ minus the terminating NUL. */
const MAX_IFNAME = 15

type IpCommand = readonly string[]

/** Lans of this process not yet destroyed, for the exit and signal handlers. */
const live = new Set<Lan>()
let seq = 0

function batchArgs(ns: string | undefined, force: boolean): string[] {
  return [...(ns ? ['-n', ns] : []), ...(force ? ['-force'] : []), '-batch', '-']
}

function batchInput(commands: readonly IpCommand[]): string {
  return commands.map((c) => `${c.join(' ')}\n`).join('')
}

/**
 * Runs `ip` commands in one `ip -batch` process, inside `ns` if given. Spawning a process from
 * Node costs about 30 ms on these machines, so one `ip` per step made `create` take over a
 * second for 3 hosts. Without `force` the batch stops at the first failure and rejects; with it,
 * failures are skipped and whatever was printed is returned.
 */
function ipBatch(
  commands: readonly IpCommand[],
  opts: { ns?: string; force?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', batchArgs(opts.ns, opts.force ?? false), (err, stdout, stderr) => {
      if (err && !opts.force) {
        const where = opts.ns ? ` in ${opts.ns}` : ''
        reject(new Error(`ip -batch${where}: ${stderr.trim() || err.message}`))
      } else resolve(stdout)
    })
    child.stdin?.end(batchInput(commands))
  })
}

/** `ipBatch` with `force`, for 'exit' handlers, where nothing asynchronous runs any more. */
function ipBatchForceSync(commands: readonly IpCommand[]): string {
  try {
    return execFileSync('ip', batchArgs(undefined, true), {
      input: batchInput(commands),
      encoding: 'utf8',
      stdio: 'pipe',
    })
  } catch (err) {
    const stdout = (err as { stdout?: unknown }).stdout
    return typeof stdout === 'string' ? stdout : ''
  }
}

async function ip(args: IpCommand): Promise<string> {
  try {
    return (await execFileAsync('ip', args)).stdout
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr
    const detail = typeof stderr === 'string' && stderr.trim() ? stderr.trim() : String(err)
    throw new Error(`ip ${args.join(' ')}: ${detail}`)
  }
}

/**
 * Whether a process exists and has not exited. A zombie counts as gone: PID 1 on these machines
 * reaps orphans lazily, so a killed process can linger as a zombie for seconds, and a zombie
 * holds no namespace.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The state follows the command name, which is in parentheses and may contain anything.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // Already gone.
  }
}

function killListed(pids: string): void {
  for (const pid of pids.split(/\s+/).filter(Boolean)) killQuietly(Number(pid), 'SIGKILL')
}

function checkPrefix(prefix: string): void {
  // No '-' in it: the first '-' after the prefix is where the pid starts, so a sweep of one
  // prefix can never read another prefix's names as its own.
  if (!/^[a-z][a-z0-9]{0,5}$/.test(prefix)) {
    throw new Error(
      `Lan prefix must be 1-6 lowercase letters or digits, starting with a letter: ${prefix}`,
    )
  }
}

/** The pid that made a name of this prefix, or undefined when the name is not one of ours. */
function ownerPid(name: string, prefix: string): number | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined
  const m = /^([0-9a-z]+)-/.exec(name.slice(prefix.length + 1))
  if (!m?.[1]) return undefined
  const pid = Number.parseInt(m[1], 36)
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
}

function namespaceNames(listing: string): string[] {
  // Lines are `name` or `name (id: N)`.
  return listing
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '')
}

function rootLinkNames(listing: string): string[] {
  // `ip -o link` lines: `7: name@peer: <FLAGS> ...`.
  const names: string[] = []
  for (const line of listing.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line)
    if (m?.[1]) names.push(m[1])
  }
  return names
}

const pidsOf = (names: readonly string[]) => names.map((ns) => ['netns', 'pids', ns])
const deletionsOf = (names: readonly string[]) => names.map((ns) => ['netns', 'del', ns])

/**
 * Kills whatever still runs in the namespaces, then deletes them; missing ones are skipped. A
 * namespace holding a live process outlives `ip netns del` with no name, invisible to
 * `ip netns list` yet keeping its interfaces, so the processes go first.
 */
async function removeNamespaces(names: readonly string[]): Promise<void> {
  if (names.length === 0) return
  killListed(await ipBatch(pidsOf(names), { force: true }))
  await ipBatch(deletionsOf(names), { force: true })
}

function removeNamespacesSync(names: readonly string[]): void {
  killListed(ipBatchForceSync(pidsOf(names)))
  ipBatchForceSync(deletionsOf(names))
}

function onExit(): void {
  for (const lan of [...live]) lan.destroySync()
}

function onSignal(signal: NodeJS.Signals): void {
  onExit()
  disarm()
  // Die of the signal as if no one had listened, unless someone else listens and decides.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

let armed = false

function arm(): void {
  if (armed) return
  armed = true
  // 'exit' covers process.exit, uncaught exceptions and a drained event loop; signals end a
  // process without it.
  process.on('exit', onExit)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

function disarm(): void {
  if (!armed) return
  armed = false
  process.off('exit', onExit)
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
}

let availability: Promise<string | null> | undefined

export class Lan {
  readonly hosts: readonly LanHost[]
  /** The namespace holding the bridge and the bridge-side ends of all cables. */
  readonly bridgeNs: string
  readonly bridge: string
  /** E.g. `10.77.42.0/24`. */
  readonly subnet: string
  /** Process groups started by `spawn`: each child leads its own. */
  readonly #groups = new Map<number, ChildProcess>()
  #destroying: Promise<void> | undefined
  #destroyed = false

  private constructor(tag: string, hostCount: number, k: number) {
    this.bridgeNs = `${tag}-br`
    this.bridge = `${tag}b`
    this.subnet = `10.77.${k}.0/24`
    const hosts: LanHost[] = []
    for (let index = 0; index < hostCount; index++) {
      hosts.push({
        index,
        ns: `${tag}-h${index}`,
        ip: `10.77.${k}.${index + 1}`,
        veth: `${tag}p${index}`,
        iface: `${tag}e${index}`,
      })
    }
    this.hosts = hosts
  }

  /**
   * Why namespaces cannot be made here, or null when they can. The probe makes (and removes) a
   * namespace with a bridge and a veth pair and runs a command in it, which is everything
   * `create` needs. The answer is cached for the process.
   */
  static unavailable(): Promise<string | null> {
    availability ??= probe()
    return availability
  }

  static async create(opts: LanOptions): Promise<Lan> {
    const prefix = opts.prefix ?? DEFAULT_PREFIX
    checkPrefix(prefix)
    if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > 250) {
      throw new Error(`Lan needs 1 to 250 hosts, got ${opts.hosts}`)
    }
    await Lan.sweepStale(prefix)
    const n = seq++
    const tag = `${prefix}-${process.pid.toString(36)}-${n.toString(36)}`
    const lan = new Lan(tag, opts.hosts, ((process.pid + n) % 254) + 1)
    for (const name of [lan.bridge, ...lan.hosts.flatMap((h) => [h.veth, h.iface])]) {
      if (name.length > MAX_IFNAME) {
        throw new Error(
          `interface name ${name} is over ${MAX_IFNAME} characters: shorten the prefix`,
        )
      }
    }
    // Registered before anything exists, so a crash halfway through still cleans up.
    live.add(lan)
    arm()
    try {
      await lan.#build()
    } catch (err) {
      await lan.destroy()
      throw err
    }
    return lan
  }

  /**
   * Removes namespaces (and, should any exist, root-namespace links) of this prefix left by
   * processes that are no longer alive, killing anything still running in them. `create` calls
   * it, so leftovers of a SIGKILLed run vanish with the next run. Returns what it removed.
   */
  static async sweepStale(prefix: string = DEFAULT_PREFIX): Promise<string[]> {
    checkPrefix(prefix)
    const stale = (name: string) => {
      const pid = ownerPid(name, prefix)
      return pid !== undefined && !isAlive(pid)
    }
    const [namespaces, links] = await Promise.all([
      ip(['netns', 'list']).then(namespaceNames, () => []),
      ip(['-o', 'link']).then(rootLinkNames, () => []),
    ])
    const staleNamespaces = namespaces.filter(stale)
    await removeNamespaces(staleNamespaces)
    // Lan never puts a link in the root namespace; this catches anything a future or broken
    // version left there.
    const staleLinks = links.filter(stale)
    if (staleLinks.length > 0) {
      await ipBatch(
        staleLinks.map((l) => ['link', 'del', l]),
        { force: true },
      )
    }
    return [...staleNamespaces, ...staleLinks]
  }

  async #build(): Promise<void> {
    const br = this.bridgeNs
    await ipBatch([br, ...this.hosts.map((h) => h.ns)].map((ns) => ['netns', 'add', ns]))
    // Snooping off: an unmanaged office switch floods all multicast. mDNS (224.0.0.251) is
    // link-local and flooded even with snooping on (measured), but other groups would depend on
    // IGMP timers with no querier on this bridge. STP stays off (the default), so a port
    // forwards the moment it is up and `plug` takes effect at once.
    await ipBatch(
      [
        ['link', 'add', 'name', this.bridge, 'type', 'bridge', 'mcast_snooping', '0'],
        ['link', 'set', this.bridge, 'up'],
        ...this.hosts.flatMap((h) => [
          // Both ends are born in their namespaces: nothing passes through the root namespace.
          ['link', 'add', 'name', h.veth, 'type', 'veth', 'peer', 'name', h.iface, 'netns', h.ns],
          ['link', 'set', h.veth, 'master', this.bridge, 'up'],
        ]),
      ],
      { ns: br },
    )
    await Promise.all(
      this.hosts.map((h) =>
        ipBatch(
          [
            ['link', 'set', 'lo', 'up'],
            ['addr', 'add', `${h.ip}/24`, 'dev', h.iface],
            ['link', 'set', h.iface, 'up'],
            // No default route in here, so without this multicast sends fail with ENETUNREACH.
            ['route', 'add', MULTICAST, 'dev', h.iface],
          ],
          { ns: h.ns },
        ),
      ),
    )
  }

  #host(host: LanHost | number): LanHost {
    const h = typeof host === 'number' ? this.hosts[host] : host
    if (!h || this.hosts[h.index] !== h)
      throw new Error(`host ${typeof host === 'number' ? host : host.ns} is not on this Lan`)
    if (this.#destroying) throw new Error('Lan is destroyed')
    return h
  }

  /**
   * Starts `command` inside the host's namespace. The child leads a new process group and its
   * `kill()` signals the whole group, so whatever it starts dies with it; `destroy` and the exit
   * handlers SIGKILL every group still around.
   */
  spawn(
    host: LanHost | number,
    command: string,
    args: readonly string[] = [],
    options: SpawnOptions = {},
  ): ChildProcess {
    const h = this.#host(host)
    // `ip netns exec` execs the command in place (no fork), so child.pid is the command's pid.
    const child = spawn('ip', ['netns', 'exec', h.ns, command, ...args], {
      ...options,
      detached: true,
    })
    const pid = child.pid
    if (pid === undefined) return child
    this.#groups.set(pid, child)
    child.kill = (signal?: NodeJS.Signals | number): boolean => {
      try {
        process.kill(-pid, signal ?? 'SIGTERM')
        return true
      } catch {
        return false
      }
    }
    child.once('exit', () => {
      // Forget the group only once it is empty, so a stray grandchild still gets killed but a
      // later unrelated group reusing the pid never does.
      try {
        process.kill(-pid, 0)
      } catch {
        this.#groups.delete(pid)
      }
    })
    return child
  }

  /** Runs a command inside the host's namespace to completion; rejects on a non-zero exit. */
  exec(
    host: LanHost | number,
    command: string,
    args: readonly string[] = [],
  ): Promise<{ stdout: string; stderr: string }> {
    const h = this.#host(host)
    return execFileAsync('ip', ['netns', 'exec', h.ns, command, ...args])
  }

  /** Pulls the host's cable: see the module comment for what the host observes. */
  async unplug(host: LanHost | number): Promise<void> {
    const h = this.#host(host)
    await ip(['-n', this.bridgeNs, 'link', 'set', h.veth, 'down'])
  }

  /** Plugs the cable back in; the host's multicast route is restored if it went missing. */
  async plug(host: LanHost | number): Promise<void> {
    const h = this.#host(host)
    await ip(['-n', this.bridgeNs, 'link', 'set', h.veth, 'up'])
    // Carrier loss keeps routes (they are only marked `linkdown`, measured); an admin-down of
    // the host's own interface would have deleted them. Checked rather than assumed, since mDNS
    // after a plug depends on it.
    const routes = await ip(['-n', h.ns, 'route', 'show', MULTICAST])
    if (routes.trim() === '') await ip(['-n', h.ns, 'route', 'replace', MULTICAST, 'dev', h.iface])
  }

  /** Kills everything this Lan started and removes its namespaces, and with them all its links. */
  destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      const children = this.#killGroups()
      await removeNamespaces(this.#namespaces())
      this.#finish()
      await Promise.all(children.map((c) => exited(c, 2000)))
    })()
    return this.#destroying
  }

  /** `destroy` for 'exit' handlers, where nothing asynchronous runs any more. */
  destroySync(): void {
    if (this.#destroyed) return
    this.#destroying ??= Promise.resolve()
    this.#killGroups()
    removeNamespacesSync(this.#namespaces())
    this.#finish()
  }

  #killGroups(): ChildProcess[] {
    const children = [...this.#groups.values()]
    for (const pid of this.#groups.keys()) killQuietly(-pid, 'SIGKILL')
    this.#groups.clear()
    return children
  }

  #namespaces(): string[] {
    return [...this.hosts.map((h) => h.ns), this.bridgeNs]
  }

  #finish(): void {
    this.#destroyed = true
    live.delete(this)
    if (live.size === 0) disarm()
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

async function probe(): Promise<string | null> {
  if (process.platform !== 'linux')
    return `network namespaces need Linux, this is ${process.platform}`
  const uid = process.getuid?.()
  if (uid !== 0) return `creating network namespaces needs root (running as uid ${uid})`
  try {
    await execFileAsync('ip', ['-V'])
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'no `ip` binary on PATH (install iproute2)'
      : `\`ip -V\` failed: ${String(err)}`
  }
  // Named like a Lan's namespaces, so a sweep removes it should this process die mid-probe.
  const ns = `${DEFAULT_PREFIX}-${process.pid.toString(36)}-probe`
  try {
    await ip(['netns', 'add', ns])
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message}`
  }
  try {
    await ipBatch(
      [
        ['link', 'add', 'name', 'b', 'type', 'bridge'],
        ['link', 'add', 'name', 'v0', 'type', 'veth', 'peer', 'name', 'v1'],
        ['link', 'set', 'v0', 'master', 'b'],
      ],
      { ns },
    )
    await ip(['netns', 'exec', ns, 'ip', 'link', 'show', 'lo'])
    return null
  } catch (err) {
    return `network namespaces are not fully usable here: ${(err as Error).message}`
  } finally {
    await removeNamespaces([ns])
  }
}
