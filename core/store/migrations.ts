/**
 * The schema, as numbered migrations. `PRAGMA user_version` holds how many have run; each runs
 * in its own transaction with the version bump, so a crash leaves a database at some whole
 * version. Never edit a migration that has shipped: add the next one.
 */
import type Database from 'better-sqlite3'

/** "TALY": marks the file as ours, for `file(1)` and for the check on opening. */
export const APPLICATION_ID = 0x54414c59

const MIGRATIONS: readonly string[] = [
  `
  PRAGMA application_id = ${APPLICATION_ID};
  CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE blocks (
    height INTEGER PRIMARY KEY CHECK (height >= 1),
    hash TEXT NOT NULL UNIQUE,
    time INTEGER NOT NULL,
    proposer TEXT NOT NULL,
    entry_count INTEGER NOT NULL,
    block BLOB NOT NULL,
    commit_bytes BLOB NOT NULL
  ) STRICT;
  -- The bytes are the entry; the other columns are copies kept only to query by.
  CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    bytes BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('transfer', 'member')),
    author TEXT NOT NULL,
    from_account TEXT,
    to_account TEXT,
    asset TEXT,
    amount INTEGER,
    memo TEXT,
    memo_folded TEXT,
    status TEXT NOT NULL CHECK (status IN ('submitted', 'relayed', 'committed', 'rejected')),
    height INTEGER REFERENCES blocks (height),
    reason TEXT,
    local INTEGER NOT NULL CHECK (local IN (0, 1)),
    received INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX entries_by_from ON entries (from_account, seq);
  CREATE INDEX entries_by_to ON entries (to_account, seq);
  CREATE INDEX entries_by_status ON entries (status, seq);
  CREATE INDEX entries_by_height ON entries (height);
  CREATE TABLE peers (id TEXT PRIMARY KEY, addrs TEXT NOT NULL, last_seen INTEGER NOT NULL) STRICT;
  `,
  // Idempotency keys of the submit routes (idempotency.ts). seq follows arrival, so the cap drops
  // the oldest rows with a range delete; created is what the 24-hour expiry reads.
  `
  CREATE TABLE idempotency_keys (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    request TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    status INTEGER NOT NULL,
    answer TEXT NOT NULL,
    created INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created);
  `,
  // Join requests waiting for an answer, and recent denials (join-requests.ts). Both stay small
  // (64 and 256 rows); the index serves the per-address count and its eviction. A denial's seq
  // is renewed at each denial, so the cap drops the least recently denied.
  `
  CREATE TABLE join_requests (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    addr TEXT NOT NULL,
    host TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX join_requests_by_host ON join_requests (host, last_at);
  CREATE TABLE join_denials (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL
  ) STRICT;
  `,
  // The interface filters entries by asset. Without an index a rare asset in a large ledger
  // reads back through every entry to fill one page.
  `
  CREATE INDEX entries_by_asset ON entries (asset, seq);
  `,
]

export const SCHEMA_VERSION = MIGRATIONS.length

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number
}

/**
 * Brings a database at any known version up to SCHEMA_VERSION. `to` is for tests: a file left
 * at an older version is the honest stand-in for one an older Tally wrote (dropping the newer
 * tables from a current file stops being one as soon as a later migration adds another).
 */
export function migrate(db: Database.Database, to = SCHEMA_VERSION): void {
  for (let v = schemaVersion(db); v < to; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!)
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
}
