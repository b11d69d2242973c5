/**
 * Reading every entry of a filtered view for the export, page by page with the node's cursor,
 * up to a cap: a ledger's whole history is never asked in one request, and an export of a
 * runaway view stops rather than fill the tab's memory.
 */
import type { EntryPage, EntryView } from '../../../core/api/types.ts'
import type { Result } from '../api/client.ts'

/** The most the node gives per page. */
export const EXPORT_PAGE = 500
export const EXPORT_CAP = 100_000

export type PageReader = (before: number | undefined, limit: number) => Promise<Result<EntryPage>>

export type Collected =
  | {
      readonly ok: true
      readonly entries: readonly EntryView[]
      /** The cap was reached with more left: the file holds the newest `cap` only. */
      readonly truncated: boolean
    }
  | { readonly ok: false; readonly error: string; readonly got: number }

export async function collectEntries(
  read: PageReader,
  options: {
    readonly cap?: number
    readonly onProgress?: (count: number) => void
    readonly cancelled?: () => boolean
  } = {},
): Promise<Collected> {
  const cap = options.cap ?? EXPORT_CAP
  const out: EntryView[] = []
  let before: number | undefined
  for (;;) {
    if (options.cancelled?.()) return { ok: false, error: 'Export cancelled.', got: out.length }
    const r = await read(before, Math.min(EXPORT_PAGE, cap - out.length))
    if (!r.ok) return { ok: false, error: r.error, got: out.length }
    out.push(...r.value.entries)
    options.onProgress?.(out.length)
    if (r.value.next === null) return { ok: true, entries: out, truncated: false }
    if (out.length >= cap) return { ok: true, entries: out, truncated: true }
    before = r.value.next
  }
}

/** `tally-office-entries-2026-03-05-141502.csv`: safe on every file system. */
export function exportFileName(ledgerName: string, now: Date): string {
  const slug =
    ledgerName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'ledger'
  const p = (n: number) => String(n).padStart(2, '0')
  const stamp = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`
  return `tally-${slug}-entries-${stamp}.csv`
}
