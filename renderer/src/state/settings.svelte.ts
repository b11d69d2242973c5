/** This machine's settings, as the node runs with them, and the interface's own (the theme). */
import type { SettingsView } from '../../../core/api/types.ts'
import type { ApiClient } from '../api/client.ts'
import { saveTheme, storedTheme, type Theme } from './theme.ts'

export class SettingsState {
  readonly #api: ApiClient
  settings = $state<SettingsView | null>(null)
  /** Why the settings could not be read, in words. */
  error = $state<string | null>(null)
  theme = $state<Theme>(storedTheme(localStorage))

  constructor(api: ApiClient) {
    this.#api = api
  }

  async refresh(): Promise<void> {
    const r = await this.#api.settings()
    if (r.ok) {
      this.settings = r.value
      this.error = null
    } else {
      this.error = r.error
    }
  }

  setTheme(theme: Theme): void {
    this.theme = theme
    saveTheme(localStorage, theme)
  }
}
