import Database from 'better-sqlite3'

/** The one error the store throws about its database; the message always names the file. */
export class StoreError extends Error {
  override name = 'StoreError'
}

/** SQLite's result code (e.g. SQLITE_NOTADB) when `e` came from SQLite, else null. */
export function sqliteCode(e: unknown): string | null {
  return e instanceof Database.SqliteError ? e.code : null
}

/** SQLite's errors name no file; a node may hold several databases, so ours always do. */
export function wrapSqliteError(file: string, doing: string, e: unknown): unknown {
  if (sqliteCode(e) === null) return e
  return new StoreError(`ledger database ${file}: ${doing} failed: ${(e as Error).message}`, {
    cause: e,
  })
}
