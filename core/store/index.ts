/** The public surface of core/store. */
export type { KeyRecord } from './idempotency.ts'
export { KEY_TTL_MS, MAX_KEY_RECORDS } from './idempotency.ts'
export type { JoinOutcome, JoinRequest, JoinRequestInput } from './join-requests.ts'
export {
  JOIN_DENIAL_MS,
  JoinRequestError,
  JoinRequests,
  MAX_JOIN_ADDR_CHARS,
  MAX_JOIN_DENIALS,
  MAX_JOIN_HOST_CHARS,
  MAX_JOIN_NAME_CHARS,
  MAX_JOIN_REQUESTS,
  MAX_JOIN_REQUESTS_PER_HOST,
} from './join-requests.ts'
export { isNewDatabase, openVoteLog } from './open-votes.ts'
export { useSqliteBinding } from './sqlite.ts'
export type { EntryQuery, EntryRecord, KnownPeer } from './store.ts'
export { MAX_PAGE, Store, StoreError } from './store.ts'
export type { VoteLogOptions } from './vote-log.ts'
export { VoteLog } from './vote-log.ts'
