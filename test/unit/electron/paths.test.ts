/**
 * Where the desktop app keeps its data (electron/main/paths.ts): `--data-dir` read from the
 * command line Electron hands main, and the app's files under the chosen user-data folder.
 */
import assert from 'node:assert/strict'
import { join, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { DESKTOP_NODE_FOLDER } from '../../../core/api/desktop-protocol.ts'
import { ArgsError, appPaths, coreSwitches, dataDirArg } from '../../../electron/main/paths.ts'

const CWD = resolve('/home/ana/work')
/** What `process.argv` starts with in a packaged app and under `electron .`. */
const PACKAGED = ['/opt/Tally/tally']
const DEV = ['/repo/node_modules/electron/dist/electron', '.']

describe('--data-dir on the command line', () => {
  it('takes `--data-dir X`', () => {
    assert.equal(dataDirArg([...PACKAGED, '--data-dir', '/srv/one'], CWD), resolve('/srv/one'))
  })

  it('takes `--data-dir=X`', () => {
    assert.equal(dataDirArg([...PACKAGED, '--data-dir=/srv/two'], CWD), resolve('/srv/two'))
  })

  it('resolves a relative folder against the working directory', () => {
    assert.equal(dataDirArg([...PACKAGED, '--data-dir', 'demo/a'], CWD), join(CWD, 'demo/a'))
    assert.equal(dataDirArg([...PACKAGED, '--data-dir=../b'], CWD), resolve(CWD, '../b'))
  })

  it('is null when not given', () => {
    assert.equal(dataDirArg(PACKAGED, CWD), null)
    assert.equal(dataDirArg(DEV, CWD), null)
    assert.equal(dataDirArg([], CWD), null)
  })

  it("ignores Electron's own switches and the app path", () => {
    const argv = [
      ...DEV,
      '--no-sandbox',
      '--enable-logging',
      '--inspect=9229',
      '--data-dirs=/not/this',
      '--data-dir',
      'mine',
      '--ozone-platform=wayland',
    ]
    assert.equal(dataDirArg(argv, CWD), join(CWD, 'mine'))
    assert.equal(dataDirArg([...DEV, '--no-sandbox', '--data-dirs=/x'], CWD), null)
  })

  it('refuses the switch given twice, in either form', () => {
    for (const argv of [
      ['--data-dir', 'a', '--data-dir', 'b'],
      ['--data-dir=a', '--data-dir=b'],
      ['--data-dir', 'a', '--data-dir=a'],
    ]) {
      assert.throws(
        () => dataDirArg([...PACKAGED, ...argv], CWD),
        (e: unknown) => {
          assert.ok(e instanceof ArgsError, String(e))
          assert.match(e.message, /twice/)
          return true
        },
      )
    }
  })

  it('refuses the switch without a folder: at the end, before another switch, or `=` empty', () => {
    for (const argv of [['--data-dir'], ['--data-dir', '--no-sandbox'], ['--data-dir=']]) {
      assert.throws(
        () => dataDirArg([...PACKAGED, ...argv], CWD),
        (e: unknown) => {
          assert.ok(e instanceof ArgsError, `${argv.join(' ')}: ${String(e)}`)
          assert.match(e.message, /needs a folder/)
          return true
        },
      )
    }
  })

  it('does not take the switch after it as its folder', () => {
    // `--data-dir --data-dir=x` is a missing folder, not a folder named after the switch.
    assert.throws(() => dataDirArg([...PACKAGED, '--data-dir', '--data-dir=x'], CWD), ArgsError)
  })
})

describe('the app paths under user data', () => {
  it('puts the node in <userData>/node and the window state in <userData>/window-state.json', () => {
    const userData = resolve('/home/ana/.config/Tally')
    const p = appPaths(userData)
    assert.equal(DESKTOP_NODE_FOLDER, 'node')
    assert.equal(p.userData, userData)
    assert.equal(p.nodeData, join(userData, 'node'))
    assert.equal(p.windowState, join(userData, 'window-state.json'))
  })
})

describe("the node's switches passed on to the core", () => {
  it('are --listen (repeatable, either form) and --no-mdns, as given, and nothing else', () => {
    assert.deepEqual(
      coreSwitches([
        '/app',
        '--listen',
        '/ip4/127.0.0.1/tcp/0',
        '--data-dir',
        'x',
        '--no-mdns',
        '--listen=/ip4/127.0.0.1/tcp/9',
        '--enable-logging',
      ]),
      ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/9'],
    )
    assert.deepEqual(coreSwitches(['/app']), [])
  })

  it('refuse --listen without an address', () => {
    assert.throws(() => coreSwitches(['--listen']), ArgsError)
    assert.throws(() => coreSwitches(['--listen', '--no-mdns']), ArgsError)
  })
})
