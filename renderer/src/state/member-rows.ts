/** The Members screen's rows: each member with whether it is reachable now, as this node sees it. */
import type { MemberView, PeerView } from '../../../core/api/types.ts'

export interface MemberRow {
  readonly id: string
  readonly name: string
  readonly shortId: string
  /** This machine. */
  readonly self: boolean
  /** Null while this node has said nothing of it yet (the peers list is not in). */
  readonly online: boolean | null
}

/** The members online now: this machine, and every member this node is connected to. */
export function onlineMembers(
  members: readonly MemberView[],
  peers: readonly PeerView[],
  selfId: string | null,
): Set<string> {
  const connected = new Set(peers.filter((p) => p.connected || p.self).map((p) => p.id))
  const online = new Set<string>()
  for (const m of members) if (m.id === selfId || connected.has(m.id)) online.add(m.id)
  return online
}

/** This machine first, then the others by name. */
export function memberRows(
  members: readonly MemberView[],
  peers: readonly PeerView[],
  selfId: string | null,
): MemberRow[] {
  const byId = new Map(peers.map((p) => [p.id, p]))
  const rows = members.map((m): MemberRow => {
    const self = m.id === selfId
    const peer = byId.get(m.id)
    return {
      id: m.id,
      name: m.name === '' ? m.shortId : m.name,
      shortId: m.shortId,
      self,
      online: self ? true : peer === undefined ? null : peer.connected,
    }
  })
  return rows.sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name))
}
