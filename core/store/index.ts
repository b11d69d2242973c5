/** The public surface of core/store. */
export type { EntryQuery, EntryRecord, KnownPeer } from './store.ts'
export { MAX_PAGE, Store, StoreError } from './store.ts'
export { VoteLog } from './vote-log.ts'
