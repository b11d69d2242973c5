/**
 * `tally submit` against a stand-in server that loses answers: it sends an Idempotency-Key, and
 * retries with the same key, so the node can answer the retry with the first entry.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, it } from 'node:test'
import { runSubmit } from '../../../core/cli/client.ts'

const TRANSFER = { from: '@bank', to: 'alice', asset: 'EUR', amount: '1250' }
const FAST = { retries: 3, firstDelayMs: 5 }
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** A server whose answer to request n (from 0) is `answer(n, req, res)`; records the keys sent. */
async function standIn(
  answer: (n: number, req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; keys: (string | undefined)[] }> {
  const keys: (string | undefined)[] = []
  const server = createServer((req, res) => {
    const n = keys.length
    keys.push(req.headers['idempotency-key'] as string | undefined)
    req.resume()
    req.on('end', () => answer(n, req, res))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}`, keys }
}

const accepted = (res: ServerResponse) => {
  res.writeHead(202, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ id: 'a'.repeat(64), status: 'submitted' }))
}

describe('tally submit', () => {
  let server: Server | undefined

  afterEach(async () => {
    server?.closeAllConnections()
    await new Promise((r) => server?.close(r))
    server = undefined
  })

  it('retries a lost answer (reset, 409) with the same key, and uses a fresh key per submission', async (t) => {
    const s = await standIn((n, req, res) => {
      if (n === 0) req.socket.destroy()
      else if (n === 1) {
        res.writeHead(409, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'still being answered' }))
      } else accepted(res)
    })
    server = s.server
    const log = t.mock.method(console, 'log', () => {})
    const target = () => ({ url: s.url, token: 't' })
    assert.equal(await runSubmit(target, TRANSFER, FAST), 0)
    assert.equal(s.keys.length, 3)
    assert.match(s.keys[0]!, UUID)
    assert.deepEqual(new Set(s.keys).size, 1, 'every attempt sends the same key')
    assert.match(String(log.mock.calls[0]?.arguments[0]), /"status":"submitted"/)

    await runSubmit(target, TRANSFER, FAST)
    assert.notEqual(s.keys[3], s.keys[0], 'another submission gets another key')
  })

  it('sends the key it is given, and when retries run out names it for the next try', async () => {
    const s = await standIn((_n, req) => req.socket.destroy())
    server = s.server
    const target = () => ({ url: s.url, token: 't' })
    await assert.rejects(
      runSubmit(target, { ...TRANSFER, 'idempotency-key': 'my-key-1' }, FAST),
      /cannot reach the node .* may or may not be stored: run the same command with --idempotency-key my-key-1/,
    )
    assert.deepEqual(s.keys, ['my-key-1', 'my-key-1', 'my-key-1', 'my-key-1'])
  })

  it('does not retry an answer that says no (400): nothing was stored', async () => {
    const s = await standIn((_n, _req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: '"amount" must be a positive integer' }))
    })
    server = s.server
    await assert.rejects(
      runSubmit(() => ({ url: s.url, token: 't' }), TRANSFER, FAST),
      /^Error: "amount" must be a positive integer$/,
    )
    assert.equal(s.keys.length, 1)
  })
})
