/**
 * The Ledger export as CSV (RFC 4180: CRLF line ends, fields with a comma, quote or line break
 * quoted, quotes doubled). A memo or account is text anyone with submit rights wrote, and a
 * spreadsheet runs a cell that starts with = + - @ as a formula, so such text fields get a
 * leading apostrophe (OWASP's advice on CSV injection). Amounts are written as plain decimals and
 * left alone, so the sheet still reads them as numbers.
 */
import type { EntryView, MemberView } from '../../core/api/types.ts'
import { memberChangeText } from './state/ledger-query.ts'
import { plainAmount } from './state/submit-rules.ts'

const NEEDS_QUOTES = /[",\r\n]/
const FORMULA_START = /^[=+\-@\t\r]/

/** One field; `numeric` fields (our own amounts and heights) skip the formula guard. */
export function csvField(value: string | number | null | undefined, numeric = false): string {
  if (value === null || value === undefined) return ''
  let s = String(value)
  if (!numeric && FORMULA_START.test(s)) s = `'${s}`
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

export const ENTRY_COLUMNS = [
  'id',
  'time',
  'height',
  'status',
  'reason',
  'kind',
  'from',
  'to',
  'asset',
  'amount',
  'memo',
  'author',
] as const

export interface CsvContext {
  readonly decimalsOf: (asset: string) => number
  readonly members: readonly MemberView[]
}

export function entryRow(e: EntryView, ctx: CsvContext): string {
  const author = ctx.members.find((m) => m.id === e.author)?.name ?? e.author
  const common = {
    id: csvField(e.id),
    time: csvField(new Date(e.time).toISOString()),
    height: csvField(e.height ?? null, true),
    status: csvField(e.status),
    reason: csvField(e.reason ?? null),
    kind: csvField(e.kind),
    author: csvField(author),
  }
  const body =
    e.kind === 'transfer'
      ? [
          csvField(e.from),
          csvField(e.to),
          csvField(e.asset),
          csvField(plainAmount(e.amount, ctx.decimalsOf(e.asset)), true),
          csvField(e.memo),
        ]
      : ['', '', '', '', csvField(memberChangeText(e, ctx.members))]
  return [
    common.id,
    common.time,
    common.height,
    common.status,
    common.reason,
    common.kind,
    ...body,
    common.author,
  ].join(',')
}

export function entriesCsv(entries: readonly EntryView[], ctx: CsvContext): string {
  const lines = [ENTRY_COLUMNS.join(',')]
  for (const e of entries) lines.push(entryRow(e, ctx))
  return `${lines.join('\r\n')}\r\n`
}
