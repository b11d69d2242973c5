/**
 * What the layers above (the API and the command) may use of the node. The ledger and store
 * types they need come through here, so they depend on the node alone, as the design's table says.
 */
export { parseNodeIdInput, shortNodeId } from '../ledger/node-id.ts'
export type {
  Block,
  Commit,
  EntryBody,
  EntryStatus,
  FaultModel,
  Hash,
  NodeId,
  SignedEntry,
} from '../ledger/types.ts'
export type { KeyRecord } from '../store/idempotency.ts'
export { MAX_PAGE, useSqliteBinding } from '../store/index.ts'
export type { EntryQuery, EntryRecord } from '../store/store.ts'
export { type FoundLedger, type Joining, Lobby, NoLedgerError } from './lobby.ts'
export { Machine, type MachineEvent } from './machine.ts'
export {
  DB_FILE,
  type NodeEntry,
  type NodeEventData,
  type NodeOptions,
  type NodeStatus,
  type PeerInfo,
  type RoundsInfo,
  SubmitError,
  TallyNode,
} from './node.ts'
export type { FailedRound, RoundRecord } from './rounds.ts'
export type { NodeSettings } from './settings.ts'
export type { KeyedSubmit, SubmitOutcome } from './submit-keys.ts'
