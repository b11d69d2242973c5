/**
 * The tray icon: its colour and tooltip say the node's state (tray-look.ts), and its menu opens
 * the window, restarts a core the supervisor gave up on, and quits.
 */
import { Menu, nativeImage, Tray } from 'electron'
import type { CoreSummary } from '../../core/api/desktop-protocol.ts'
import { drawIcon, ICON_COLOURS } from '../icons/art.ts'
import { encodePng } from '../icons/png.ts'
import type { CoreLife } from './core-supervisor.ts'
import { type TrayTone, trayLook } from './tray-look.ts'

export interface TrayActions {
  open(): void
  restartCore(): void
  quit(): void
}

/** The icon of each tone at 16 px and, for high-density screens, 32 px; drawn once. */
const images = new Map<TrayTone, Electron.NativeImage>()

function imageOf(tone: TrayTone): Electron.NativeImage {
  let image = images.get(tone)
  if (image === undefined) {
    image = nativeImage.createEmpty()
    for (const [size, scaleFactor] of [
      [16, 1],
      [32, 2],
    ] as const) {
      const buffer = encodePng(size, size, drawIcon(size, ICON_COLOURS[tone]))
      image.addRepresentation({ scaleFactor, width: 16, height: 16, buffer })
    }
    images.set(tone, image)
  }
  return image
}

export class AppTray {
  readonly #tray: Tray
  readonly #actions: TrayActions
  #tone: TrayTone | null = null
  #tooltip = ''
  #canRestart: boolean | null = null

  constructor(actions: TrayActions) {
    this.#actions = actions
    this.#tray = new Tray(imageOf('offline'))
    // Windows and most Linux trays open the window on a click; the menu is on the right button.
    this.#tray.on('click', () => actions.open())
    this.show({ state: 'starting' }, null)
  }

  show(life: CoreLife, summary: CoreSummary | null): void {
    const { tone, tooltip } = trayLook(life, summary)
    if (tone !== this.#tone) this.#tray.setImage(imageOf(tone))
    if (tooltip !== this.#tooltip) this.#tray.setToolTip(tooltip)
    this.#tone = tone
    this.#tooltip = tooltip
    const canRestart = life.state === 'down' && !life.cause.restarting
    if (canRestart !== this.#canRestart) {
      this.#canRestart = canRestart
      this.#tray.setContextMenu(
        Menu.buildFromTemplate([
          { label: 'Open Tally', click: () => this.#actions.open() },
          {
            label: 'Restart the core',
            enabled: canRestart,
            click: () => this.#actions.restartCore(),
          },
          { type: 'separator' },
          { label: 'Quit Tally', click: () => this.#actions.quit() },
        ]),
      )
    }
  }

  destroy(): void {
    this.#tray.destroy()
  }
}
