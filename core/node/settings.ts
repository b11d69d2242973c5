/**
 * A node's settings, kept in its database so that `tally node --data DIR` needs no other flag.
 * Read with checks: a setting of the wrong shape stops the node with a message naming it, rather
 * than running with something nobody chose.
 */
import { LAN_TIMING, type Timing } from '../consensus/timing.ts'

export interface NodeSettings {
  /** A human name for this machine, shown to the other members. */
  readonly name: string
  readonly listen: readonly string[]
  /** Static peers: multiaddrs ending in /p2p/<peer id>. */
  readonly peers: readonly string[]
  /** The API's port on 127.0.0.1; 0 picks a free one. */
  readonly apiPort: number
  readonly mdns: boolean
  readonly timing: Timing
  readonly pingIntervalMs: number
  readonly pingTimeoutMs: number
}

export const DEFAULT_SETTINGS: NodeSettings = {
  name: '',
  listen: ['/ip4/0.0.0.0/tcp/0'],
  peers: [],
  apiPort: 0,
  mdns: true,
  timing: LAN_TIMING,
  pingIntervalMs: 2_000,
  pingTimeoutMs: 2_000,
}

export class SettingsError extends Error {}

/** What `tally node` may give on its command line for one run, over the stored settings. */
export interface SettingsOverrides {
  readonly listen?: readonly string[] | undefined
  readonly peers?: readonly string[] | undefined
  readonly mdns?: boolean | undefined
}

/**
 * The settings a run goes by: the stored ones with this run's overrides. Command-line peers are
 * added to the stored ones, as the network layer dials both.
 */
export function settingsInEffect(stored: NodeSettings, o: SettingsOverrides): NodeSettings {
  return {
    ...stored,
    listen: o.listen ?? stored.listen,
    peers: [...new Set([...stored.peers, ...(o.peers ?? [])])],
    mdns: o.mdns ?? stored.mdns,
  }
}

/** Builds settings from stored values over the defaults. */
export function readSettings(stored: Record<string, unknown>): NodeSettings {
  const s = { ...DEFAULT_SETTINGS }
  const str = (k: string, v: unknown): string => {
    if (typeof v !== 'string') throw new SettingsError(`setting ${k} must be a string`)
    return v
  }
  const strings = (k: string, v: unknown): string[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      throw new SettingsError(`setting ${k} must be a list of strings`)
    }
    return v as string[]
  }
  const int = (k: string, v: unknown, min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new SettingsError(`setting ${k} must be an integer from ${min} to ${max}`)
    }
    return v
  }
  for (const [k, v] of Object.entries(stored)) {
    switch (k) {
      case 'name':
        s.name = str(k, v)
        break
      case 'listen':
        s.listen = strings(k, v)
        break
      case 'peers':
        s.peers = strings(k, v)
        break
      case 'apiPort':
        s.apiPort = int(k, v, 0, 65_535)
        break
      case 'mdns':
        if (typeof v !== 'boolean') throw new SettingsError('setting mdns must be true or false')
        s.mdns = v
        break
      case 'pingIntervalMs':
        s.pingIntervalMs = int(k, v, 100, 600_000)
        break
      case 'pingTimeoutMs':
        s.pingTimeoutMs = int(k, v, 100, 600_000)
        break
      case 'timing': {
        if (typeof v !== 'object' || v === null)
          throw new SettingsError('setting timing must be an object')
        const t: Record<string, number> = { ...LAN_TIMING }
        for (const [tk, tv] of Object.entries(v)) {
          if (!(tk in LAN_TIMING)) throw new SettingsError(`setting timing.${tk} is not known`)
          t[tk] = int(`timing.${tk}`, tv, 0, 3_600_000)
        }
        s.timing = t as unknown as Timing
        break
      }
      default:
        // Settings of later versions or other parts of the app (the UI's) are not the node's.
        break
    }
  }
  return s
}
