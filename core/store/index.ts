/** The public surface of core/store. */
export type { KeyRecord } from './idempotency.ts'
export { KEY_TTL_MS, MAX_KEY_RECORDS } from './idempotency.ts'
export { isNewDatabase, openVoteLog } from './open-votes.ts'
export type { EntryQuery, EntryRecord, KnownPeer } from './store.ts'
export { MAX_PAGE, Store, StoreError } from './store.ts'
export type { VoteLogOptions } from './vote-log.ts'
export { VoteLog } from './vote-log.ts'
