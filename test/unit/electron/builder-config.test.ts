/**
 * electron-builder.yml, checked without running electron-builder (it downloads Electron): it must
 * pass electron-builder's own validation against its own schema, electron-builder must load it
 * from where it is, and it must say what the packaged app's security and packaging rely on.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import type { Configuration } from 'app-builder-lib'
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js'
import { DebugLogger, log } from 'builder-util'

const root = resolve(import.meta.dirname, '../../..')
const CONFIG_PATH = join(root, 'electron-builder.yml')

// js-yaml ships no types; this is the one function used. electron-builder reads YAML with it too.
const { load: loadYaml } = createRequire(import.meta.url)('js-yaml') as {
  load: (text: string) => unknown
}

type Json = Record<string, unknown>

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The config as written, parsed fresh each time: validation coerces types in place. */
function readConfig(): Json {
  const parsed = loadYaml(readFileSync(CONFIG_PATH, 'utf8'))
  assert.ok(isRecord(parsed), 'electron-builder.yml is a mapping')
  return parsed
}

function section(config: Json, key: string): Json {
  const value = config[key]
  assert.ok(isRecord(value), `${key} is a mapping`)
  return value
}

/** electron-builder's own check, as `electron-builder build` runs it before anything else. */
function validate(config: Json): Promise<void> {
  return validateConfiguration(structuredClone(config) as Configuration, new DebugLogger(false))
}

test("electron-builder.yml passes electron-builder's own schema validation", async () => {
  await validate(readConfig())
})

test('a config with a misspelt key fails the same validation, so the check can fail', async () => {
  const topLevel = { ...readConfig(), linx: { target: ['deb'] } }
  await assert.rejects(validate(topLevel), /unknown property 'linx'/)

  // Under a section the message names only the section (an anyOf), so the typo is the one change.
  const config = readConfig()
  const fuses = section(config, 'electronFuses')
  await validate({ ...config, electronFuses: { ...fuses } })
  const nested = { ...config, electronFuses: { ...fuses, runAsNod: false } }
  await assert.rejects(validate(nested), /configuration\.electronFuses /)
})

test('electron-builder loads electron-builder.yml itself: nothing in package.json shadows it', async (t) => {
  // getConfig reports the file it read through log.info; catching that also keeps it off stdout.
  const reported: unknown[] = []
  t.mock.method(log, 'info', (fields: unknown, message?: string) => {
    if (message === 'loaded configuration') reported.push(fields)
  })
  const loaded = await getConfig(root, null, null)
  assert.deepEqual(reported, [{ file: CONFIG_PATH }])
  const raw = readConfig()
  assert.equal(loaded.appId, raw.appId)
  assert.deepEqual(loaded.electronFuses, raw.electronFuses)
  assert.deepEqual(loaded.linux, raw.linux)
  await validateConfiguration(loaded, new DebugLogger(false))
})

test('the app is identified as org.tally.desktop, named Tally, with a copyright line', () => {
  const config = readConfig()
  assert.equal(config.appId, 'org.tally.desktop')
  assert.equal(config.productName, 'Tally')
  assert.match(String(config.copyright), /^Copyright © \d{4} \S/)
})

test('installers go to dist-installers and resources come from build/', () => {
  assert.deepEqual(readConfig().directories, { output: 'dist-installers', buildResources: 'build' })
})

test('only built output is packaged: the bundles and package.json in, sources and tests out', () => {
  const files = readConfig().files
  assert.ok(Array.isArray(files) && files.every((f) => typeof f === 'string'), 'files is a list')
  for (const included of ['dist-electron/**', 'renderer/dist/**', 'package.json']) {
    assert.ok(files.includes(included), `${included} is packaged`)
  }
  for (const excluded of ['core', 'test', 'bench', 'renderer/src', 'docs', 'electron']) {
    assert.ok(files.includes(`!${excluded}/**`), `${excluded}/ is left out`)
  }
  // Anything included without a "!" must be built output or package.json.
  const includes = files.filter((f) => !f.startsWith('!'))
  assert.deepEqual(includes.sort(), ['dist-electron/**', 'package.json', 'renderer/dist/**'])
})

test("package.json's main is the bundled main process inside dist-electron/", () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Json
  assert.equal(pkg.main, 'dist-electron/main.cjs', 'electron-builder starts the app from main')
})

test('linux builds a deb first and an AppImage second', () => {
  assert.deepEqual(section(readConfig(), 'linux').target, ['deb', 'AppImage'])
})

test('the deb has a maintainer, which dpkg requires', () => {
  assert.match(String(section(readConfig(), 'linux').maintainer), /^.+ <[^@\s]+@[^@\s]+>$/)
})

test('linux files the app under Office and Finance, with a synopsis and description', () => {
  const linux = section(readConfig(), 'linux')
  assert.equal(linux.category, 'Office;Finance')
  assert.ok(typeof linux.synopsis === 'string' && linux.synopsis.length > 0)
  assert.ok(typeof linux.description === 'string' && linux.description.length > 0)
})

test('the config warns that the AppImage needs --no-sandbox on Ubuntu 24.04', () => {
  // A comment, so only the raw text can show it.
  assert.match(readFileSync(CONFIG_PATH, 'utf8'), /#.*AppImage[\s\S]*?24\.04[\s\S]*?--no-sandbox/)
})

test('windows builds an assisted, per-user-capable nsis installer', () => {
  const config = readConfig()
  assert.equal(section(config, 'win').target, 'nsis')
  const nsis = section(config, 'nsis')
  assert.equal(nsis.oneClick, false)
  assert.equal(nsis.allowToChangeInstallationDirectory, true)
  assert.equal(nsis.perMachine, false)
})

test('mac builds a dmg in the finance category with the hardened runtime notarisation needs', () => {
  const mac = section(readConfig(), 'mac')
  assert.equal(mac.target, 'dmg')
  assert.equal(mac.category, 'public.app-category.finance')
  assert.equal(mac.hardenedRuntime, true)
})

test('the app is an asar with better-sqlite3 unpacked, so its native binary can be loaded', () => {
  const config = readConfig()
  assert.equal(config.asar, true)
  const unpack = config.asarUnpack
  assert.ok(
    Array.isArray(unpack) && unpack.includes('node_modules/better-sqlite3/**'),
    String(unpack),
  )
})

test("native modules are rebuilt for Electron's ABI (npmRebuild is not false)", () => {
  const config = readConfig()
  assert.notEqual(config.npmRebuild, false)
  assert.equal(config.nativeRebuilder, undefined, 'the default rebuilder is the tested path')
  // electron-builder rebuilds and packs production dependencies only.
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Json
  assert.ok(isRecord(pkg.dependencies) && 'better-sqlite3' in pkg.dependencies)
})

/** Each fuse, the value it must have, and why: each becomes its own test. */
const FUSES: ReadonlyArray<readonly [name: string, value: boolean, because: string]> = [
  ['runAsNode', false, 'the binary cannot be run as a plain Node interpreter'],
  ['enableNodeOptionsEnvironmentVariable', false, 'NODE_OPTIONS cannot inject code'],
  ['enableNodeCliInspectArguments', false, '--inspect cannot attach a debugger'],
  ['onlyLoadAppFromAsar', true, 'only the packaged app.asar is loaded'],
  ['enableEmbeddedAsarIntegrityValidation', true, 'a tampered app.asar is refused'],
  ['grantFileProtocolExtraPrivileges', false, 'file:// pages get no more than a browser gives'],
  ['enableCookieEncryption', false, 'the keyring is not asked for cookies the page never keeps'],
]

for (const [name, value, because] of FUSES) {
  test(`fuse ${name} is ${value ? 'on' : 'off'}: ${because}`, () => {
    assert.equal(section(readConfig(), 'electronFuses')[name], value)
  })
}

/** Keys whose string values electron-builder reads as paths to files or folders. */
const PATH_KEYS = new Set([
  'icon',
  'buildResources',
  'installerIcon',
  'uninstallerIcon',
  'installerHeaderIcon',
  'installerSidebar',
  'uninstallerSidebar',
  'license',
  'include',
  'script',
  'background',
  'entitlements',
  'entitlementsInherit',
  'provisioningProfile',
  'afterInstall',
  'afterRemove',
  'appArmorProfile',
])

function namedPaths(value: unknown, at: string, out: Array<[string, string]>): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) namedPaths(v, `${at}[${i}]`, out)
  } else if (isRecord(value)) {
    for (const [key, v] of Object.entries(value)) {
      const where = at ? `${at}.${key}` : key
      if (PATH_KEYS.has(key) && typeof v === 'string') out.push([where, v])
      else namedPaths(v, where, out)
    }
  }
}

test('every file and folder the config names exists', () => {
  const config = readConfig()
  const buildResources = String(section(config, 'directories').buildResources)
  const named: Array<[string, string]> = []
  namedPaths(config, '', named)
  // The icons of three platforms and the resources folder, at least: a walk that finds nothing
  // would pass vacuously.
  assert.ok(named.length >= 4, JSON.stringify(named))
  for (const [where, path] of named) {
    // electron-builder looks in the build resources first, then in the project.
    const found = [join(root, buildResources, path), join(root, path)].some((p) => existsSync(p))
    assert.ok(found, `${where}: ${path} does not exist`)
  }
})

test('the Linux icon folder holds PNGs named by size, as electron-builder requires', () => {
  const dir = join(root, String(section(readConfig(), 'linux').icon))
  assert.ok(statSync(dir).isDirectory())
  const names = readdirSync(dir)
  assert.ok(names.length > 0)
  for (const name of names) assert.match(name, /^(\d+)x\1\.png$/)
  assert.ok(names.includes('512x512.png'), 'a 512 px icon for large displays')
})
