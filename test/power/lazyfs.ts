/**
 * LazyFS mounts for power-cut tests (../shared/tools/lazyfs, its README says how it works). A
 * mount keeps its own page cache: what a process wrote and did not fsync stays there until a
 * `clear-cache` drops it, which is what a power cut does to that machine's files. The real files
 * live in a root folder beside the mount.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const BUILD_SCRIPT = resolve(import.meta.dirname, '../../../shared/tools/lazyfs/build.sh')

/** Why power-cut tests cannot run here, or null. Only a missing FUSE device is a reason to skip. */
export function whyNoFuse(): string | null {
  if (!existsSync('/dev/fuse'))
    return 'there is no /dev/fuse on this machine, so LazyFS cannot mount'
  return null
}

/**
 * The lazyfs binary: $LAZYFS_BIN if set (CI builds it first), else built now by the shared build
 * script into the system temp folder, which takes about a minute once and reuses the build after.
 */
export function lazyfsBinary(): string {
  const given = process.env.LAZYFS_BIN
  if (given !== undefined && given !== '') {
    if (!existsSync(given)) throw new Error(`LAZYFS_BIN=${given} does not exist`)
    return given
  }
  if (!existsSync(BUILD_SCRIPT)) {
    throw new Error(
      `LazyFS's build script ${BUILD_SCRIPT} is missing: the shared/ folder must sit beside the checkout`,
    )
  }
  try {
    return execFileSync('bash', [BUILD_SCRIPT, join(tmpdir(), 'lazyfs-build')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim()
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? ''
    throw new Error(
      `building LazyFS failed; it needs Debian's cmake g++ pkg-config libfuse3-dev fuse3 libspdlog-dev libtoml11-dev (.ci/run installs them):\n${stderr}`,
    )
  }
}

export class LazyMount {
  readonly mountpoint: string
  readonly root: string
  readonly #bin: string
  readonly #work: string
  readonly #faults: string
  readonly #donePath: string
  #proc: ChildProcess | null = null
  /**
   * The completion fifo, held open for reading while mounted: LazyFS's fault worker opens it for
   * writing before it reads its first command, and that open waits for a reader.
   */
  #done: FileHandle | null = null

  private constructor(bin: string, root: string, mountpoint: string, work: string) {
    this.#bin = bin
    this.root = root
    this.mountpoint = mountpoint
    this.#work = work
    this.#faults = join(work, 'faults.fifo')
    this.#donePath = join(work, 'done.fifo')
  }

  /**
   * A folder for a mount's config and fifos. LazyFS takes a `--config-path` that contains "-o"
   * (any case) for a missing one and aborts on its default (`strcasestr` in its main.cpp), and a
   * random temporary name starts with "o" often enough to hang a run now and then: this name
   * has no hyphen, and a temporary folder whose own path has "-o" is refused in words.
   */
  static workFolder(): string {
    const dir = mkdtempSync(join(tmpdir(), 'tallylazyfs'))
    if (/-o/i.test(dir)) {
      throw new Error(`LazyFS cannot take a config path containing "-o": ${dir} (set TMPDIR)`)
    }
    return dir
  }

  /** Mounts `root` at `mountpoint` (both made if missing); `work` holds the config and fifos. */
  static async mount(
    bin: string,
    root: string,
    mountpoint: string,
    work: string,
  ): Promise<LazyMount> {
    for (const d of [root, mountpoint, work]) mkdirSync(d, { recursive: true })
    const m = new LazyMount(bin, root, mountpoint, work)
    await m.remount()
    return m
  }

  get mounted(): boolean {
    return this.#proc !== null && isMountpoint(this.mountpoint)
  }

  /** Mounts again after an unmount or after LazyFS stopped itself (as a torn write makes it do). */
  async remount(): Promise<void> {
    if (this.#proc !== null) await this.unmount()
    const config = join(this.#work, 'lazyfs.toml')
    writeFileSync(
      config,
      [
        '[faults]',
        `fifo_path="${this.#faults}"`,
        `fifo_path_completed="${this.#donePath}"`,
        '[cache]',
        'apply_eviction=false',
        '[cache.simple]',
        // Pre-allocated at every mount; a test ledger's unsynced writes stay far below this.
        'custom_size="256mb"',
        'blocks_per_page=1',
        '[filesystem]',
        'log_all_operations=false',
        `logfile="${join(this.#work, 'lazyfs.log')}"`,
        '',
      ].join('\n'),
    )
    const proc = spawn(
      this.#bin,
      [
        this.mountpoint,
        '--config-path',
        config,
        '-o',
        'allow_other',
        '-o',
        'modules=subdir',
        '-o',
        `subdir=${this.root}`,
        '-f',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let stderr = ''
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000)
    })
    this.#proc = proc
    // LazyFS makes the fifos itself; read-write opens a fifo without waiting for a writer.
    const deadline = Date.now() + 30_000
    while (!existsSync(this.#donePath)) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`lazyfs exited (${proc.exitCode ?? proc.signalCode}): ${stderr}`)
      }
      if (Date.now() > deadline) throw new Error(`lazyfs made no fifo in 30 s: ${stderr}`)
      await sleep(20)
    }
    this.#done = await open(this.#donePath, 'r+')
    while (!isMountpoint(this.mountpoint)) {
      if (proc.exitCode !== null) throw new Error(`lazyfs exited with ${proc.exitCode}: ${stderr}`)
      if (Date.now() > deadline) throw new Error(`lazyfs did not mount ${this.mountpoint} in 30 s`)
      await sleep(50)
    }
  }

  /** Drops every write not yet synced, as a power cut does. The processes using it must be dead. */
  async clearCache(): Promise<void> {
    await this.#command('lazyfs::clear-cache', 'finished::clear-cache')
  }

  /**
   * Arms a torn write: the next write to `file` (a path under the mount) is split in `parts`,
   * only those in `persist` (1-based) reach the disk, and LazyFS then stops, as if the power went
   * in the middle of that write. The process writing gets errors from then on. (LazyFS's fifo
   * takes no `occurrence` for this fault: it is always the next write.)
   */
  async armTornWrite(file: string, parts: number, persist: readonly number[]): Promise<void> {
    // LazyFS sees the paths of its root folder, not of the mount.
    const inRoot = join(this.root, file.slice(this.mountpoint.length))
    await this.#write(
      `lazyfs::torn-op::file=${inRoot}::persist=${persist.join(',')}::parts=${parts}\n`,
    )
  }

  /** Whether LazyFS is still serving (a torn write stops it). */
  get alive(): boolean {
    return this.#proc !== null && this.#proc.exitCode === null && this.#proc.signalCode === null
  }

  async unmount(): Promise<void> {
    const proc = this.#proc
    this.#proc = null
    await this.#done?.close()
    this.#done = null
    // Also when LazyFS stopped itself: the kernel keeps a dead mount until it is let go.
    try {
      execFileSync('fusermount3', ['-u', '-z', this.mountpoint], { stdio: 'ignore' })
    } catch {
      // Not mounted.
    }
    if (proc !== null && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()))
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
  }

  async #command(command: string, finished: string): Promise<void> {
    const done = this.#done
    if (done === null) throw new Error(`${this.mountpoint} is not mounted`)
    await this.#write(`${command}\n`)
    const buf = Buffer.alloc(256)
    let got = ''
    while (!got.includes(finished)) {
      const { bytesRead } = await done.read(buf, 0, buf.length, null)
      got += buf.subarray(0, bytesRead).toString()
    }
  }

  async #write(line: string): Promise<void> {
    const f = await open(this.#faults, 'w')
    try {
      await f.write(line)
    } finally {
      await f.close()
    }
  }
}

function isMountpoint(dir: string): boolean {
  try {
    execFileSync('mountpoint', ['-q', dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
