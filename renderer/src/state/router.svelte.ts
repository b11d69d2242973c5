/** Which screen is shown, kept in the address's fragment (`#/peers`) so reload and back work. */
export const SCREENS = ['ledger', 'submit', 'peers', 'consensus', 'members', 'settings'] as const
export type Screen = (typeof SCREENS)[number]

function parse(hash: string): Screen {
  const name = hash.replace(/^#\/?/, '').split(/[?/]/)[0] ?? ''
  return (SCREENS as readonly string[]).includes(name) ? (name as Screen) : 'ledger'
}

export class Router {
  screen = $state<Screen>('ledger')

  constructor() {
    this.screen = parse(location.hash)
    addEventListener('hashchange', () => {
      this.screen = parse(location.hash)
    })
  }

  go(screen: Screen): void {
    if (location.hash !== `#/${screen}`) location.hash = `/${screen}`
    this.screen = screen
  }
}
