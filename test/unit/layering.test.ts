/**
 * The design's layering, enforced: each folder imports only what the table in DESIGN.md allows,
 * and the consensus core stays pure (no clock, no randomness, no I/O).
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'

const root = resolve(import.meta.dirname, '../..')

/** Folder → the project folders it may import from (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  'core/ledger': [],
  'core/consensus': ['core/ledger'],
  'core/store': ['core/ledger'],
  'core/net': ['core/ledger'],
  'core/node': ['core/ledger', 'core/consensus', 'core/store', 'core/net'],
  'core/api': ['core/node'],
  'core/cli': ['core/node', 'core/api'],
  renderer: ['core/api'],
  electron: ['core/api'],
}

function sources(dir: string): string[] {
  let out: string[] = []
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of names) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out = out.concat(sources(path))
    else if (/\.(ts|svelte)$/.test(name)) out.push(path)
  }
  return out
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/g)].map(
    (m) => m[1]!,
  )
}

function layerOf(path: string): string | undefined {
  const rel = relative(root, path)
  return Object.keys(ALLOWED).find((layer) => rel === layer || rel.startsWith(`${layer}/`))
}

test('every folder imports only the layers the design allows', () => {
  const wrong: string[] = []
  for (const layer of Object.keys(ALLOWED)) {
    for (const file of sources(join(root, layer))) {
      for (const spec of imports(file)) {
        if (!spec.startsWith('.')) continue
        const path = resolve(dirname(file), spec)
        const target = layerOf(path) ?? relative(root, path).split('/')[0]
        if (target === layer || ALLOWED[layer]!.includes(target ?? '')) continue
        wrong.push(`${relative(root, file)} imports ${spec} (${target})`)
      }
    }
  }
  assert.deepEqual(wrong, [])
})

test('the renderer takes only types from core/api, so its bundle holds no Node code', () => {
  const wrong: string[] = []
  for (const file of sources(join(root, 'renderer'))) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(
      /(?:^|\n)\s*((?:import|export)\b[^'"]*?)from\s+['"]([^'"]+)['"]/g,
    )) {
      if (!m[2]!.startsWith('.') || layerOf(resolve(dirname(file), m[2]!)) !== 'core/api') continue
      // `import { type A }` is kept as an import under verbatimModuleSyntax: only `import type` is not.
      if (!/^(?:import|export)\s+type\b/.test(m[1]!)) wrong.push(`${relative(root, file)}: ${m[2]}`)
    }
  }
  assert.deepEqual(wrong, [])
})

test('the consensus core reads no clock, no random source and no network', () => {
  const found: string[] = []
  for (const file of sources(join(root, 'core/consensus'))) {
    const text = readFileSync(file, 'utf8')
    for (const banned of [
      /Date\.now|new Date\(|performance\.now|process\.hrtime/,
      /Math\.random|randomBytes|randomUUID|getRandomValues/,
      /setTimeout|setInterval|setImmediate/,
      /from ['"]node:|require\(|import\(/,
    ]) {
      if (banned.test(text)) found.push(`${relative(root, file)}: ${banned.source}`)
    }
  }
  assert.deepEqual(found, [])
})

test('the check resolves imports to layers: consensus is seen importing the ledger', () => {
  const targets = new Set(
    sources(join(root, 'core/consensus')).flatMap((f) =>
      imports(f)
        .filter((s) => s.startsWith('.'))
        .map((s) => layerOf(resolve(dirname(f), s))),
    ),
  )
  assert.ok(targets.has('core/ledger'), [...targets].join(', '))
})
