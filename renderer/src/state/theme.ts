/** Light, dark, or whatever the system prefers; kept in this browser. */
export type Theme = 'system' | 'light' | 'dark'
const KEY = 'tally.theme'

export function storedTheme(storage: Storage): Theme {
  const t = storage.getItem(KEY)
  return t === 'light' || t === 'dark' ? t : 'system'
}

export function saveTheme(storage: Storage, theme: Theme): void {
  if (theme === 'system') storage.removeItem(KEY)
  else storage.setItem(KEY, theme)
  applyTheme(theme)
}

export function applyTheme(theme: Theme): void {
  const root = document.documentElement
  if (theme === 'system') delete root.dataset.theme
  else root.dataset.theme = theme
}
