/** Every member and connected peer, for the Peers screen and the quorum header. To be completed. */
import type { PeerView } from '../../../core/api/types.ts'
import type { ApiClient } from '../api/client.ts'

export class PeersState {
  readonly #api: ApiClient
  peers = $state<readonly PeerView[]>([])

  constructor(api: ApiClient) {
    this.#api = api
  }

  async refresh(): Promise<void> {
    const r = await this.#api.peers()
    if (r.ok) this.peers = r.value
  }

  onPeer(peer: PeerView): void {
    const i = this.peers.findIndex((p) => p.id === peer.id)
    this.peers = i >= 0 ? this.peers.with(i, peer) : [...this.peers, peer]
  }
}
