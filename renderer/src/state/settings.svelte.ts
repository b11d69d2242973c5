/** This machine's settings and the interface's own (the theme). To be completed. */
import type { ApiClient } from '../api/client.ts'

export class SettingsState {
  readonly #api: ApiClient

  constructor(api: ApiClient) {
    this.#api = api
  }

  async refresh(): Promise<void> {
    void this.#api
  }
}
