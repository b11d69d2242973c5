/** `tally node` refuses, by name, a data folder it cannot trust, and changes nothing in it. */
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { Cluster } from './harness.ts'

const c = Cluster.create({ nodes: 1 })
after(() => c.destroy())

test('a node whose database is damaged stops with a message naming the file, and leaves it as it was', async () => {
  const file = join(c.nodes[0]!.dir, 'tally.db')
  const garbage = Buffer.from(
    'this is not a SQLite database, but it is somebody’s file\n'.repeat(100),
  )
  writeFileSync(file, garbage)
  await assert.rejects(c.start(0), (error: Error) => {
    assert.match(error.message, /exited with 1/)
    assert.ok(error.message.includes(file), error.message)
    return true
  })
  assert.deepEqual(readFileSync(file), garbage)
})
