/**
 * What the desktop app's main process (electron/main) and the utility process that runs the core
 * (core/cli/desktop-core.ts) say to each other over the utility process's parent port, and what
 * the preload hands the renderer. The renderer's own requests do not pass here: they go over the
 * MessagePort of core/api/port-protocol.ts, which main hands to both ends and never reads.
 *
 * Types only, so that the shell, the core and the renderer read one definition.
 */
import type { PortLike } from './port-protocol.ts'
import type { SetupView } from './types.ts'

// --- main → core -------------------------------------------------------------------------------

/** A new renderer port: the message's one transferred port is bridged to the node's API. */
export interface ConnectMessage {
  readonly type: 'connect'
}

/** Stop the node cleanly (the app is quitting), then exit with code 0. */
export interface StopMessage {
  readonly type: 'stop'
}

export type MainToCore = ConnectMessage | StopMessage

// --- core → main -------------------------------------------------------------------------------

/** The node runs and its API answers; renderer ports sent from now on are served at once. */
export interface CoreReadyMessage {
  readonly type: 'ready'
  readonly dataDir: string
  readonly nodeId: string
}

/** What the tray shows, sent when it changes (checked every second). */
export interface CoreStatusMessage {
  readonly type: 'status'
  readonly status: CoreSummary
}

/**
 * The core cannot go on, and restarting it would meet the same wall (a data folder another
 * process holds, a damaged file, a safety stop): main shows `error` and does not restart it.
 */
export interface CoreFatalMessage {
  readonly type: 'fatal'
  readonly error: string
}

export type CoreToMain = CoreReadyMessage | CoreStatusMessage | CoreFatalMessage

/**
 * The node's data folder inside the desktop app's user-data folder. `tally start`'s web mode
 * (core/cli/start-command.ts) uses the same one, so both open one machine's node.
 */
export const DESKTOP_NODE_FOLDER = 'node'

/** The exit code of a core that stopped on purpose after a `fatal`: main does not restart it. */
export const CORE_EXIT_FATAL = 3

/** Where the machine stands, in the few figures the tray needs. */
export type CoreSummary =
  | { readonly kind: 'setup'; readonly setup: Exclude<SetupView['state'], 'member'> }
  | {
      readonly kind: 'member'
      readonly ledgerName: string
      readonly height: number
      readonly members: number
      readonly online: number
      readonly quorum: number
      readonly hasQuorum: boolean
    }

// --- preload → renderer ------------------------------------------------------------------------

/**
 * What the preload exposes to the page as `window.tally`, and nothing more: the port to the core,
 * wrapped so that it outlives the core's restarts (electron/preload/port-relay.ts).
 */
export interface DesktopBridge {
  readonly port: PortLike
}
