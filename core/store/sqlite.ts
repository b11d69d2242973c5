/**
 * Opening the SQLite file: refuse anything damaged or foreign before writing a byte to it, then
 * set the durability pragmas. A database that fails a check is closed and left exactly as it was:
 * it may hold the only copy of a node's key and of entries its users submitted.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { StoreError, sqliteCode } from './errors.ts'
import { APPLICATION_ID, migrate, SCHEMA_VERSION, schemaVersion } from './migrations.ts'

/** Long enough for a node that is shutting down to release the file to the one starting. */
const BUSY_TIMEOUT_MS = 3000
const REPORTED_PROBLEMS = 3
const LEFT_AS_IS =
  'It has been left as it is; move it aside to start afresh or restore it from a backup.'

/** Thrown inside the checks; turned into the one message format below. */
class Refusal extends Error {
  constructor(
    message: string,
    readonly damaged: boolean,
  ) {
    super(message)
  }
}

/**
 * The compiled SQLite addon to load instead of the one next to better-sqlite3's sources. Electron
 * runs another Node ABI than the `node` the tests use, so the desktop app in development loads a
 * copy built for Electron (core/cli/electron-native.ts); packaged, electron-builder rebuilds the
 * module itself and this stays unset.
 */
let nativeBinding: string | undefined

/** Set once, before the first database opens; the addon is per process. */
export function useSqliteBinding(path: string): void {
  nativeBinding = path
}

export function openDatabase(file: string): Database.Database {
  try {
    // The file holds the node's signing key: other users of the machine have no business in it.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  } catch (e) {
    throw new StoreError(
      `cannot create the folder for the ledger database ${file}: ${(e as Error).message}`,
      { cause: e },
    )
  }
  const existed = existsSync(file)
  let db: Database.Database
  try {
    if (!existed) createPrivate(file)
    db = new Database(file, {
      timeout: BUSY_TIMEOUT_MS,
      ...(nativeBinding === undefined ? {} : { nativeBinding }),
    })
  } catch (e) {
    throw refusal(file, reasonOf(e), { cause: e })
  }
  try {
    check(db, existed)
    // Before write-ahead logging starts: SQLite gives the -wal and -shm files the database's mode.
    if (existed) makePrivate(file)
    configure(db)
    migrate(db)
    return db
  } catch (e) {
    db.close()
    throw refusal(file, reasonOf(e), { cause: e })
  }
}

/**
 * The file holds the node's signing key. Made 0600 before SQLite opens it, because SQLite would
 * make it 0644 (under the usual umask) and its -wal and -shm files after it, with the same mode,
 * readable by every user of the machine until a chmod came.
 */
function createPrivate(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600))
  } catch (e) {
    // Made by another process in the meantime: SQLite's lock decides which of us may use it.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  }
}

/** A database copied in with looser modes (a restored backup): tightened, with its side files. */
function makePrivate(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (!existsSync(f)) continue
    if ((statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600)
  }
}

/** Everything here only reads, so a refused file is not touched. */
function check(db: Database.Database, existed: boolean): void {
  // Before the first read: from then on this connection holds the file's lock until it closes,
  // so a second node started on the same data folder is refused instead of signing beside us.
  db.pragma('locking_mode = EXCLUSIVE')
  const problems = integrityProblems(db)
  if (problems !== null) throw new Refusal(`integrity check failed (${problems})`, true)
  if (!existed) return
  const appId = db.pragma('application_id', { simple: true })
  if (appId !== 0 && appId !== APPLICATION_ID) {
    throw new Refusal(`it belongs to another application (application_id ${String(appId)})`, true)
  }
  const version = schemaVersion(db)
  if (version > SCHEMA_VERSION) {
    throw new Refusal(
      `it has schema version ${version}, newer than the ${SCHEMA_VERSION} this Tally knows: it was written by a newer Tally. It has been left as it is; run that newer Tally with it`,
      false,
    )
  }
  const objects = db.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }
  if (version === 0 && objects.n > 0) {
    throw new Refusal('it is an SQLite database, but not a Tally ledger database', true)
  }
}

/** SQLite's first few findings on one line, or null when it finds the file sound. */
function integrityProblems(db: Database.Database): string | null {
  const rows = db.pragma(`quick_check(${REPORTED_PROBLEMS})`) as { quick_check: string }[]
  const lines = rows.flatMap((r) => r.quick_check.split('\n')).filter((l) => !l.startsWith('***'))
  if (lines.length === 1 && lines[0] === 'ok') return null
  return lines.slice(0, REPORTED_PROBLEMS).join('; ')
}

function configure(db: Database.Database): void {
  const mode = db.pragma('journal_mode = WAL', { simple: true })
  if (mode !== 'wal')
    throw new Refusal(`it cannot use write-ahead logging (mode ${String(mode)})`, false)
  // FULL syncs the log on every commit: an acknowledged entry survives power loss, not only a crash.
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
}

function reasonOf(e: unknown): { message: string; damaged: boolean } {
  if (e instanceof Refusal) return { message: e.message, damaged: e.damaged }
  const code = sqliteCode(e)
  const message = (e as Error).message
  if (code === 'SQLITE_BUSY') {
    return {
      message: 'it is in use by another process (is another Tally node using this data folder?)',
      damaged: false,
    }
  }
  return { message, damaged: code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' }
}

function refusal(
  file: string,
  reason: { message: string; damaged: boolean },
  options: ErrorOptions,
): StoreError {
  const advice = reason.damaged ? ` ${LEFT_AS_IS}` : ''
  return new StoreError(
    `cannot open the ledger database ${file}: ${reason.message}.${advice}`,
    options,
  )
}
