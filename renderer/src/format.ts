/** How numbers, amounts and times are shown. Amounts stay exact: minor units as bigint digits. */

/** `12345` with 2 decimals → `123.45`; keeps a leading `-`. */
export function formatAmount(minor: string, decimals: number): string {
  const negative = minor.startsWith('-')
  const digits = (negative ? minor.slice(1) : minor).padStart(decimals + 1, '0')
  const whole = digits.slice(0, digits.length - decimals).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  const fraction = decimals > 0 ? `.${digits.slice(digits.length - decimals)}` : ''
  return `${negative ? '-' : ''}${whole}${fraction}`
}

export function clockTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour12: false })
}

export function dateTime(ms: number): string {
  const d = new Date(ms)
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString(undefined, { hour12: false })}`
}

/** "just now", "12 s ago", "4 min ago", "3 h ago", then the date. */
export function ago(ms: number, now: number): string {
  const s = Math.round((now - ms) / 1000)
  if (s < 2) return 'just now'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  return dateTime(ms)
}
