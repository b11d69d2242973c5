/**
 * Approving a machine through the API, on a real node and its store: an approval that would
 * raise the quorum for a voter that may never come is refused with the reason, and nothing is
 * submitted.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import type { JoinRequestView } from '../../../core/api/types.ts'
import { generateKeypair } from '../../../core/ledger/crypto.ts'
import { groupedNodeId } from '../../../core/ledger/node-id.ts'
import { startTestApi, type TestApi } from './helpers.ts'

const open: TestApi[] = []
after(async () => {
  for (const t of open) await t.close()
})

async function nodeWith(others: number): Promise<TestApi> {
  const t = await startTestApi({ others })
  open.push(t)
  return t
}

/** A machine that asked to join `ageMs` ago (the store's own record, as the join protocol writes it). */
function asked(t: TestApi, ageMs: number): string {
  const id = generateKeypair().keypair.id
  t.node.store.joins.request(
    { id, name: 'front desk', addr: '/ip4/10.0.0.9/tcp/4001', host: '10.0.0.9' },
    Date.now() - ageMs,
  )
  return id
}

describe('approving a machine', () => {
  it('a machine that stopped asking is not approved: it may be gone, and a lone member would wait for it for good', async () => {
    const t = await nodeWith(0)
    const id = asked(t, 60_000)
    const r = await t.call('POST', `/api/join-requests/${id}/approve`)
    assert.equal(r.status, 409)
    assert.match(String(r.body.error), /has not asked for 60 s and may be gone/)
    assert.equal(t.node.pending, 0, 'nothing was submitted')
    const listed = await t.call<{ requests: JoinRequestView[] }>('GET', '/api/join-requests')
    assert.deepEqual(
      listed.body.requests.map((q) => q.id),
      [id],
      'the request stays for someone to decide',
    )
  })

  it('an addition the members online could not carry is refused with the numbers', async () => {
    // Two other members, neither connected: four members would need three online.
    const t = await nodeWith(2)
    const id = asked(t, 0)
    const r = await t.call('POST', `/api/join-requests/${id}/approve`)
    assert.equal(r.status, 409)
    assert.match(String(r.body.error), /would make 4 members with 2 online, but .* need 3 online/)
    assert.equal(t.node.pending, 0, 'nothing was submitted')
  })

  it('a machine asking now is approved on a lone member, by its hex or grouped id, once', async () => {
    const t = await nodeWith(0)
    const id = asked(t, 0)
    const bad = await t.call('POST', '/api/join-requests/not-an-id/approve')
    assert.equal(bad.status, 400)
    const r = await t.call<{ id: string; status: string }>(
      'POST',
      `/api/join-requests/${groupedNodeId(id)}/approve`,
    )
    assert.equal(r.status, 202, JSON.stringify(r.body))
    assert.equal(r.body.status, 'committed', 'a lone member commits the addition at once')
    const again = await t.call('POST', `/api/join-requests/${id}/approve`)
    assert.equal(again.status, 404, 'the decided request is gone')
    const members = await t.call<{ members: { id: string }[] }>('GET', '/api/members')
    assert.equal(members.body.members.length, 1, 'in force only two heights later')
  })
})
