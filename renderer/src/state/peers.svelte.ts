/** Every member and connected peer, for the Peers screen and the quorum header. */
import type { PeerView } from '../../../core/api/types.ts'
import type { ApiClient } from '../api/client.ts'

export class PeersState {
  readonly #api: ApiClient
  peers = $state.raw<readonly PeerView[]>([])
  /** Whether an answer came at all: an empty list before it means "not asked yet", not "alone". */
  loaded = $state(false)
  /** The last error in words; null once an answer came. */
  error = $state<string | null>(null)

  constructor(api: ApiClient) {
    this.#api = api
  }

  async refresh(): Promise<void> {
    const r = await this.#api.peers()
    if (r.ok) {
      this.peers = r.value
      this.loaded = true
      this.error = null
    } else {
      this.error = r.error
    }
  }

  onPeer(peer: PeerView): void {
    const i = this.peers.findIndex((p) => p.id === peer.id)
    this.peers = i >= 0 ? this.peers.with(i, peer) : [...this.peers, peer]
  }

  /** The member name of a node id, or its short id; the first hex digits if not known here. */
  nameOf(id: string): string {
    const p = this.peers.find((x) => x.id === id)
    if (p === undefined) return id.slice(0, 8)
    return p.name === '' ? p.shortId : p.name
  }
}
