/**
 * The member's side of joining: answers what a machine outside the ledger may ask (the ledger's
 * name, its own request's fate), keeps its request for the members to decide, and hands a
 * machine whose addition is committed the genesis it needs to fetch the ledger.
 *
 * What a non-member can make this cost is bounded elsewhere: the network limits how often it may
 * ask (core/net/host.ts), and the store how many requests it keeps (core/store/join-requests.ts).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { encodeGenesis } from '../ledger/encoding.ts'
import { memberNameError } from '../ledger/rules.ts'
import type { Genesis, Hash, NodeId } from '../ledger/types.ts'
import { type JoinAnswer, type JoinRequest, type LedgerInfo, MAX_JOIN_ADDRS } from '../net/join.ts'
import type { JoinRequest as JoinRequestRecord } from '../store/join-requests.ts'
import type { Store } from '../store/store.ts'

export interface JoinDeskSource {
  readonly ledger: Hash
  readonly genesis: Genesis
  readonly store: Store
  /** Members now, and who is being added (committed, not yet in force). */
  members(): readonly NodeId[]
  mayHaveLedger(id: NodeId): boolean
  /** Members connected to this node now, this node not included. */
  connectedMembers(): number
  /** Where the members listen (this node's own addresses first). */
  memberAddrs(): readonly string[]
  /** Called when the list of pending requests changed. */
  changed(): void
}

export class JoinDesk {
  readonly #src: JoinDeskSource
  #genesisBase64: string | null = null

  constructor(src: JoinDeskSource) {
    this.#src = src
  }

  info(): LedgerInfo {
    const src = this.#src
    return {
      ledger: src.ledger,
      name: src.genesis.name,
      members: src.members().length,
      online: src.connectedMembers() + 1,
      since: src.genesis.time,
    }
  }

  answer(from: NodeId, addr: string, request: JoinRequest): JoinAnswer {
    const src = this.#src
    if (request.type === 'hello') return { type: 'info', info: this.info() }
    if (request.ledger !== src.ledger) {
      return { type: 'refused', reason: 'this node holds another ledger' }
    }
    // A name the ledger would refuse in the entry that adds it is refused now, not at approval.
    const badName = memberNameError(request.name)
    if (badName !== null) return { type: 'refused', reason: badName }
    if (src.mayHaveLedger(from)) {
      this.#genesisBase64 ??= Buffer.from(encodeGenesis(src.genesis)).toString('base64')
      return {
        type: 'approved',
        genesis: this.#genesisBase64,
        addrs: src.memberAddrs().slice(0, MAX_JOIN_ADDRS),
      }
    }
    const now = Date.now()
    const outcome = src.store.joins.request(
      { id: from, name: request.name, addr, host: hostOf(addr) },
      now,
    )
    if (outcome === 'added') src.changed()
    if (outcome === 'denied') return { type: 'denied' }
    if (outcome === 'full') return { type: 'full' }
    return { type: 'pending' }
  }

  list(): readonly JoinRequestRecord[] {
    return this.#src.store.joins.list()
  }

  get(id: NodeId): JoinRequestRecord | null {
    return this.#src.store.joins.get(id)
  }

  deny(id: NodeId): boolean {
    const denied = this.#src.store.joins.deny(id, Date.now())
    if (denied) this.#src.changed()
    return denied
  }

  /** A request whose machine is now in the ledger has been decided. */
  membersChanged(): void {
    let removed = false
    for (const r of this.list()) {
      if (this.#src.mayHaveLedger(r.id)) removed = this.#src.store.joins.remove(r.id) || removed
    }
    if (removed) this.#src.changed()
  }
}

/** The IP a request came from: requests are bounded per host, so one machine cannot fill the list. */
function hostOf(addr: string): string {
  try {
    const ip = multiaddr(addr)
      .getComponents()
      .find((c) => c.name === 'ip4' || c.name === 'ip6')
    return ip?.value ?? addr
  } catch {
    return addr
  }
}
