import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type TokenStore, takeToken } from '../../../renderer/src/api/token.ts'

const TOKEN = 'a'.repeat(64)

function page(hash: string) {
  const replaced: string[] = []
  const kept = new Map<string, string>()
  const storage: TokenStore = {
    getItem: (k) => kept.get(k) ?? null,
    setItem: (k, v) => void kept.set(k, v),
    removeItem: (k) => void kept.delete(k),
  }
  const bar = { replaceState: (_d: unknown, _u: string, url: string) => void replaced.push(url) }
  return { loc: { hash, pathname: '/', search: '' }, bar, storage, replaced }
}

test('the token is read from the fragment and taken out of the address bar', () => {
  const p = page(`#token=${TOKEN}`)
  assert.equal(takeToken(p.loc, p.bar, p.storage), TOKEN)
  assert.deepEqual(p.replaced, ['/#/'])
})

test('other parts of the fragment stay in the address bar without the token', () => {
  const p = page(`#token=${TOKEN}&x=1`)
  assert.equal(takeToken(p.loc, p.bar, p.storage), TOKEN)
  assert.equal(p.replaced.length, 1)
  assert.doesNotMatch(p.replaced[0]!, /token/)
})

test('a reload finds the token kept for the tab', () => {
  const p = page(`#token=${TOKEN}`)
  takeToken(p.loc, p.bar, p.storage)
  const reload = { ...p, loc: { ...p.loc, hash: '#/peers' } }
  assert.equal(takeToken(reload.loc, reload.bar, reload.storage), TOKEN)
})

test('a malformed token is refused and still taken out of the address bar', () => {
  const p = page('#token=<script>')
  assert.equal(takeToken(p.loc, p.bar, p.storage), null)
  assert.deepEqual(p.replaced, ['/#/'])
})

test('without a token in the fragment or the tab, there is none', () => {
  const p = page('#/ledger')
  assert.equal(takeToken(p.loc, p.bar, p.storage), null)
  assert.deepEqual(p.replaced, [])
})
