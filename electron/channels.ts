/**
 * The IPC channels between main and the preload; the page never sees them. Only `CONNECT` goes
 * from the page's side to main, and main checks who sent it (security.ts, isTrustedSender).
 */
export const CHANNELS = {
  /** preload → main: this page wants a port to the core (at each load of the page). */
  connect: 'tally:connect',
  /** main → preload: a new port to the core, transferred with the message. */
  port: 'tally:port',
  /** main → preload: the core's process is not running; the payload is a `CoreDownCause`. */
  coreDown: 'tally:core-down',
} as const
