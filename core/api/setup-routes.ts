/**
 * The routes of a machine's first run and of joining: `GET /api/setup`, `POST /api/ledger`
 * (create), `POST /api/join`; and on a member, the machines waiting to join (`GET
 * /api/join-requests`, `POST /api/join-requests/<id>/approve` and `/deny`) and the removal of a
 * member (`POST /api/members/<id>/remove`).
 */
import {
  type FaultModel,
  type Lobby,
  type MachineEvent,
  type NodeId,
  NoLedgerError,
  parseNodeIdInput,
  shortNodeId,
  type TallyNode,
} from '../node/index.ts'
import { parseJson, RequestError } from './requests.ts'
import type { JoinRequestView, MachineView, SetupView, SubmitResponse } from './types.ts'

/** What the API serves: the node of a ledger, or, before the machine has one, its lobby. */
export interface ApiHost {
  readonly node: TallyNode | null
  readonly lobby: Lobby | null
  subscribe(listener: (e: MachineEvent) => void): () => void
  create(name: string, faultModel?: FaultModel): Promise<void>
}

/** A host that is only ever this node (tests, tools that start a node of their own). */
export function nodeHost(node: TallyNode): ApiHost {
  return {
    node,
    lobby: null,
    subscribe: (listener) => node.subscribe(listener),
    create: () => Promise.reject(new Error('this machine has a ledger already')),
  }
}

export const NO_LEDGER =
  'this machine has no ledger yet: create one (POST /api/ledger) or ask to join one (POST /api/join); GET /api/setup lists the ledgers in sight'

const HASH = /^[0-9a-f]{64}$/
const MAX_LEDGER_NAME = 64

export function setupView(host: ApiHost): SetupView {
  const node = host.node
  if (node !== null) {
    return {
      state: 'member',
      machine: machineView(node.id, node.settings.name, node.addrs()),
      ledger: node.ledger,
      ledgerName: node.genesis.name,
    }
  }
  const lobby = host.lobby
  if (lobby === null) throw new RequestError(503, 'the node is starting or stopping; ask again')
  const machine = machineView(lobby.id, lobby.name, lobby.addrs())
  const ledgers = lobby.ledgers().map((l) => ({ ...l }))
  const j = lobby.joining()
  const joining =
    j === null
      ? null
      : {
          ledger: j.ledger,
          ledgerName: j.ledgerName,
          status: j.status,
          reason: j.reason,
          since: j.since,
        }
  if (joining !== null && joining.status !== 'denied') {
    return { state: 'joining', machine, ledgers, joining }
  }
  return { state: 'no-ledger', machine, ledgers, joining }
}

function machineView(id: NodeId, name: string, addrs: readonly string[]): MachineView {
  return { nodeId: id, shortId: shortNodeId(id), name, addrs: [...addrs] }
}

/** `POST /api/ledger`: `{ name, faultModel? }`. */
export async function createLedger(host: ApiHost, body: string): Promise<SetupView> {
  const v = object(parseJson(body))
  const name = v.name
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_LEDGER_NAME) {
    throw new RequestError(400, `name: 1 to ${MAX_LEDGER_NAME} characters`)
  }
  const model = v.faultModel ?? 'crash'
  if (model !== 'crash' && model !== 'byzantine') {
    throw new RequestError(400, 'faultModel: "crash" or "byzantine"')
  }
  if (host.lobby === null) throw new RequestError(409, 'this machine has a ledger already')
  try {
    await host.create(name, model)
  } catch (error) {
    if (error instanceof NoLedgerError) throw new RequestError(409, error.message)
    throw error
  }
  return setupView(host)
}

/** `POST /api/join`: `{ ledger }` or `{ addr }`. */
export async function joinLedger(host: ApiHost, body: string): Promise<SetupView> {
  const v = object(parseJson(body))
  const { ledger, addr } = v
  if (ledger !== undefined && (typeof ledger !== 'string' || !HASH.test(ledger))) {
    throw new RequestError(400, 'ledger: the ledger id, 64 lowercase hex characters')
  }
  if (
    addr !== undefined &&
    (typeof addr !== 'string' || !/^\/(ip4|ip6|dns4|dns6|dns)\//.test(addr) || addr.length > 256)
  ) {
    throw new RequestError(400, 'addr: a multiaddr such as /ip4/192.168.1.20/tcp/26656')
  }
  if ((ledger === undefined) === (addr === undefined)) {
    throw new RequestError(400, 'give either ledger (one found on the LAN) or addr (a node of it)')
  }
  const lobby = host.lobby
  if (lobby === null) throw new RequestError(409, 'this machine has a ledger already')
  try {
    await lobby.join({
      ...(ledger === undefined ? {} : { ledger: ledger as string }),
      ...(addr === undefined ? {} : { addr: addr as string }),
    })
  } catch (error) {
    if (error instanceof NoLedgerError) throw new RequestError(409, error.message)
    throw error
  }
  return setupView(host)
}

export function joinRequestViews(node: TallyNode): JoinRequestView[] {
  return node.joinRequests().map((r) => ({
    id: r.id,
    shortId: shortNodeId(r.id),
    name: r.name,
    addr: r.addr,
    firstAt: r.firstAt,
    lastAt: r.lastAt,
  }))
}

/** `POST /api/join-requests/<id>/approve|deny` and `POST /api/members/<id>/remove`. */
export async function decide(
  node: TallyNode,
  given: string,
  action: 'approve' | 'deny' | 'remove',
): Promise<[number, unknown]> {
  const parsed = parseNodeIdInput(given)
  if (parsed === null) {
    throw new RequestError(
      400,
      'a node id is 64 hex characters, or its grouped form (8 groups of 7)',
    )
  }
  const id = parsed
  if (action === 'deny') {
    if (!node.denyJoin(id))
      throw new RequestError(404, `no machine ${id.slice(0, 8)} is waiting to join`)
    return [200, { denied: id }]
  }
  if (action === 'approve') {
    if (node.joinRequests().every((r) => r.id !== id)) {
      throw new RequestError(404, `no machine ${id.slice(0, 8)} is waiting to join`)
    }
    const refusal = node.approvalRefusal(id)
    if (refusal !== null) throw new RequestError(409, refusal)
    const r = await node.approveJoin(id)
    const answer: SubmitResponse = { id: r.id, status: r.status }
    return [202, answer]
  }
  const refusal = node.removalRefusal(id)
  if (refusal !== null) throw new RequestError(409, refusal)
  const r = await node.removeMember(id)
  const answer: SubmitResponse = { id: r.id, status: r.status }
  return [202, answer]
}

function object(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new RequestError(400, 'a JSON object expected')
  }
  return v as Record<string, unknown>
}
