/**
 * `tally start`'s choices, without starting anything: where the desktop app's data is (so web mode
 * opens the same node), whether an Electron binary is there (never downloading one here), and
 * when Electron could not open a window even though its binary is there.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { desktopUserData, electronBlocked, findElectron } from '../../../core/cli/start-command.ts'

describe("the desktop app's data folder, as Electron names it", () => {
  it('is $XDG_CONFIG_HOME/Tally on Linux, or ~/.config/Tally without it', () => {
    assert.equal(
      desktopUserData('linux', { XDG_CONFIG_HOME: '/x/cfg' }, '/home/ana'),
      '/x/cfg/Tally',
    )
    assert.equal(desktopUserData('linux', {}, '/home/ana'), '/home/ana/.config/Tally')
    assert.equal(
      desktopUserData('linux', { XDG_CONFIG_HOME: '' }, '/home/ana'),
      '/home/ana/.config/Tally',
    )
  })

  it('is the application-support folder on macOS and %APPDATA% on Windows', () => {
    assert.equal(
      desktopUserData('darwin', { XDG_CONFIG_HOME: '/ignored' }, '/Users/ana'),
      '/Users/ana/Library/Application Support/Tally',
    )
    assert.equal(
      desktopUserData('win32', { APPDATA: 'C:/Users/ana/AppData/Roaming' }, 'C:/Users/ana'),
      join('C:/Users/ana/AppData/Roaming', 'Tally'),
    )
  })
})

describe("finding Electron's binary", () => {
  const require = createRequire(import.meta.url)
  const pkg = dirname(require.resolve('electron/package.json'))
  const version = (
    JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string }
  ).version

  it('never tries a download when ELECTRON_SKIP_BINARY_DOWNLOAD is set, and says so', async () => {
    const said: string[] = []
    const found = await findElectron({ ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }, (l) => said.push(l))
    // Where a binary is installed it is found; where none is, the reason names the variable.
    if (!found.found) assert.match(found.reason, /ELECTRON_SKIP_BINARY_DOWNLOAD=1/)
    assert.deepEqual(said, [])
  })

  it('takes a binary from ELECTRON_OVERRIDE_DIST_PATH, as the electron package does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-electron-dist-'))
    try {
      const name = (() => {
        try {
          return readFileSync(join(pkg, 'path.txt'), 'utf8').trim()
        } catch {
          return 'electron'
        }
      })()
      writeFileSync(join(dir, name), '')
      const found = await findElectron(
        { ELECTRON_OVERRIDE_DIST_PATH: dir, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
        () => {},
      )
      assert.deepEqual(found, { found: true, path: join(dir, name), version })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('when Electron cannot open a window though its binary is there', () => {
  const binary = '/app/node_modules/electron/dist/electron'
  const restricted = (file: string) =>
    file === '/proc/sys/kernel/apparmor_restrict_unprivileged_userns' ? '1\n' : null

  it('says so for Linux without a display, and not for macOS or Windows', () => {
    assert.match(electronBlocked('linux', {}, binary) ?? '', /no display/)
    assert.equal(electronBlocked('darwin', {}, binary), null)
    assert.equal(electronBlocked('win32', {}, binary), null)
    assert.equal(
      electronBlocked('linux', { WAYLAND_DISPLAY: 'wayland-0' }, binary, () => null),
      null,
    )
  })

  it('says so where AppArmor refuses the sandbox and chrome-sandbox is not setuid root, naming the fix', () => {
    const env = { DISPLAY: ':0' }
    const why = electronBlocked('linux', env, binary, restricted, () => ({
      mode: 0o100755,
      uid: 1000,
    }))
    assert.match(why ?? '', /AppArmor/)
    assert.match(why ?? '', /chmod 4755 \/app\/node_modules\/electron\/dist\/chrome-sandbox/)
    assert.equal(
      electronBlocked('linux', env, binary, restricted, () => ({ mode: 0o104755, uid: 0 })),
      null,
    )
    assert.equal(
      electronBlocked(
        'linux',
        env,
        binary,
        () => '0\n',
        () => ({ mode: 0o100755, uid: 1000 }),
      ),
      null,
    )
  })
})
