/**
 * A node started with `--stop-on-stdin-eof` goes with the process that started it, however that
 * process ends: the bench, the test harness and `tally demo` rely on it so that a SIGKILL of
 * them, which no handler of theirs can see, leaves no `tally node` behind.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, test } from 'node:test'
import { isAlive } from '../lan/netns.ts'
import { BIN, Cluster, type Ready, until } from './harness.ts'

const c = Cluster.create({ nodes: 1 })
after(() => c.destroy())

// The parent, as the bench starts a node: stdin, stdout and stderr pipes it holds. It passes
// the node's stdout on to us, so that its ready line reaches the test; once the parent is gone,
// whatever the node writes meets a pipe nobody reads.
const PARENT = `
const { spawn } = require('node:child_process')
const [bin, dir] = process.argv.slice(1)
const node = spawn(process.execPath, [bin, 'node', '--data', dir, '--stop-on-stdin-eof'], {
  stdio: ['pipe', 'pipe', 'pipe'],
})
node.stdout.pipe(process.stdout)
node.stderr.pipe(process.stderr)
setInterval(() => {}, 60_000)
`

test('a node whose parent is SIGKILLed stops by itself, cleanly, and removes its api.json', async () => {
  const dir = c.nodes[0]!.dir
  const parent = spawn(process.execPath, ['-e', PARENT, BIN, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log: string[] = []
  createInterface({ input: parent.stderr! }).on('line', (line) => log.push(line))
  let nodePid = 0
  try {
    const ready = await new Promise<Ready>((resolve, reject) => {
      parent.once('exit', (code) => reject(new Error(`the parent exited with ${code}`)))
      createInterface({ input: parent.stdout! }).on('line', (line) => {
        if (line.includes('"event":"ready"')) resolve(JSON.parse(line) as Ready)
      })
    })
    nodePid = ready.pid
    const apiFile = join(dir, 'api.json')
    assert.ok(existsSync(apiFile), 'the running node has written api.json')

    parent.kill('SIGKILL')
    await until('the node to stop after its parent died', () =>
      isAlive(nodePid) ? undefined : true,
    )
    // A clean stop closes the node, which removes api.json. A crash would leave it: one on the
    // first write to the stderr the dead parent held, say (EPIPE), before it was ignored.
    assert.ok(!existsSync(apiFile), `api.json is left behind:\n${log.join('\n')}`)
  } finally {
    parent.kill('SIGKILL')
    if (nodePid !== 0 && isAlive(nodePid)) process.kill(nodePid, 'SIGKILL')
  }
})
