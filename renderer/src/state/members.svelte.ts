/** Members and the machines asking to join. To be completed. */
import type { JoinRequestView, MemberView } from '../../../core/api/types.ts'
import type { ApiClient } from '../api/client.ts'

export class MembersState {
  readonly #api: ApiClient
  members = $state<readonly MemberView[]>([])
  requests = $state<readonly JoinRequestView[]>([])

  constructor(api: ApiClient) {
    this.#api = api
  }

  async refresh(): Promise<void> {
    const [m, r] = await Promise.all([this.#api.members(), this.#api.joinRequests()])
    if (m.ok) this.members = m.value
    if (r.ok) this.requests = r.value
  }

  onJoinRequests(requests: readonly JoinRequestView[]): void {
    this.requests = requests
  }
}
