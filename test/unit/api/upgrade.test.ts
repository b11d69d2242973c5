/**
 * The event stream's WebSocket upgrade when the node behind it has stopped (its disk failed, or
 * it is shutting down): the client gets 503 and a closed socket, and the process goes on.
 */
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import WebSocket from 'ws'
import { startTestApi, type TestApi, TOKEN } from './helpers.ts'

const apis: TestApi[] = []
after(async () => {
  for (const a of apis) await a.close()
})

/** Opens the event stream; the HTTP status of a refused upgrade, or 101. */
function upgrade(api: TestApi): Promise<{ status: number; body: string }> {
  const url = `${api.api.url.replace('http', 'ws')}/api/events`
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${TOKEN}` } })
    ws.on('open', () => {
      ws.close()
      resolve({ status: 101, body: '' })
    })
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (d: Buffer) => {
        body += String(d)
      })
      // The server ends the response and the socket: 'end' comes only if it does.
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    ws.on('error', reject)
  })
}

it('an event stream opened after the node stopped gets 503, and the server goes on answering', async () => {
  const api = await startTestApi()
  apis.push(api)
  assert.equal((await upgrade(api)).status, 101, 'the stream opens while the node runs')
  await api.node.stop()
  const refused = await upgrade(api)
  assert.equal(refused.status, 503)
  assert.match(refused.body, /stopped/)
  assert.equal((await upgrade(api)).status, 503, 'and again: nothing was left broken')
  const status = await api.call('GET', '/api/status').catch(() => null)
  assert.notEqual(status, null, 'the HTTP server still answers')
})
