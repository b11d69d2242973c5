/**
 * What each node told its users it committed, read from its event stream while it runs. A block a
 * node reported is a promise: after any power cut, every node must hold that very block there.
 */
import WebSocket from 'ws'
import type { EventMessage } from '../../core/api/types.ts'
import type { Ready } from '../cluster/harness.ts'

export class Reported {
  /** height → block hash, as first reported by any node, with who reported it. */
  readonly blocks = new Map<number, { hash: string; node: number }>()
  /** A height two nodes reported with different hashes. */
  readonly conflicts: string[] = []
  readonly #sockets = new Set<WebSocket>()
  readonly #waiters = new Set<{ node: number; resolve: () => void }>()

  /** Listens to the node's event stream until it closes (its process dies or stops). */
  watch(node: number, ready: Ready): Promise<void> {
    const url = `${ready.api.replace(/^http/, 'ws')}/api/events?token=${ready.token}`
    const ws = new WebSocket(url)
    this.#sockets.add(ws)
    ws.on('message', (data: Buffer) => {
      const e = JSON.parse(data.toString()) as EventMessage
      if (e.type !== 'block') return
      const { height, hash } = e.block
      const known = this.blocks.get(height)
      if (known === undefined) this.blocks.set(height, { hash, node })
      else if (known.hash !== hash) {
        this.conflicts.push(
          `height ${height}: node${known.node} reported ${known.hash.slice(0, 8)}, node${node} ${hash.slice(0, 8)}`,
        )
      }
      for (const w of this.#waiters) {
        if (w.node !== node) continue
        this.#waiters.delete(w)
        w.resolve()
      }
    })
    ws.on('error', () => {})
    ws.on('close', () => this.#sockets.delete(ws))
    return new Promise((resolve) => {
      ws.once('open', () => resolve())
      ws.once('close', () => resolve())
    })
  }

  /** Resolves at the next block the node reports, or after `timeoutMs` (false). */
  nextBlock(node: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const w = { node, resolve: () => resolve(true) }
      this.#waiters.add(w)
      setTimeout(() => {
        if (this.#waiters.delete(w)) resolve(false)
      }, timeoutMs)
    })
  }

  close(): void {
    for (const ws of this.#sockets) ws.terminate()
  }
}
