/** The public surface of core/store. */
export { isNewDatabase, openVoteLog } from './open-votes.ts'
export type { EntryQuery, EntryRecord, KnownPeer } from './store.ts'
export { MAX_PAGE, Store, StoreError } from './store.ts'
export type { VoteLogOptions } from './vote-log.ts'
export { VoteLog } from './vote-log.ts'
