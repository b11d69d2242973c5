/**
 * When the page gets a port to the core (electron/main/page-link.ts): once per load and per core
 * process, never a second to the same core, and always one once a core runs after the page asked,
 * whatever order the page's load and the core's (re)starts come in.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CoreDownCause } from '../../../core/api/port-protocol.ts'
import type { CoreLife } from '../../../electron/main/core-supervisor.ts'
import { PageLink } from '../../../electron/main/page-link.ts'

type Port = { readonly n: number; closed: boolean }

const DOWN: CoreDownCause = { text: "Tally's core stopped unexpectedly", restarting: true }

function setup() {
  const sup = {
    life: { state: 'starting' } as CoreLife,
    generation: 1,
    connected: [] as Port[],
    connect(port: Port): boolean {
      if (this.life.state === 'down') return false
      this.connected.push(port)
      return true
    },
  }
  let n = 0
  const sent: Port[] = []
  const downs: CoreDownCause[] = []
  const made: Port[] = []
  const link = new PageLink<Port>({
    supervisor: sup,
    channel: () => {
      const core = { n: ++n, closed: false }
      const page = { n: ++n, closed: false }
      made.push(core, page)
      return {
        core,
        page,
        close: () => {
          core.closed = true
          page.closed = true
        },
      }
    },
    sendPort: (p) => sent.push(p),
    sendDown: (c) => downs.push(c),
  })
  /** The supervisor starts core process number `generation`. */
  const restart = () => {
    sup.generation++
    sup.life = { state: 'starting' }
    link.coreStarted()
  }
  return { sup, link, sent, downs, made, restart }
}

describe('the page link', () => {
  it('gives the page one port when it loads, and no second to the same core', () => {
    const t = setup()
    t.link.coreStarted() // the core spawned before the page asked: nothing to hand yet
    assert.equal(t.sent.length, 0)
    t.link.pageLoaded()
    assert.equal(t.sent.length, 1)
    assert.equal(t.sup.connected.length, 1)
    t.link.coreStarted()
    assert.equal(t.sent.length, 1, 'the same core: no second port')
  })

  it('gives the page a new port for each new core, and for each new load of the page', () => {
    const t = setup()
    t.link.pageLoaded()
    t.link.coreDown(DOWN)
    t.restart()
    assert.equal(t.sent.length, 2)
    t.link.pageLoaded()
    assert.equal(t.sent.length, 3, 'a reload drops the old port with the old page')
  })

  it('a page that loads while the core is down is told why, and gets a port once a core runs', () => {
    const t = setup()
    t.sup.life = { state: 'down', cause: DOWN }
    t.link.pageLoaded()
    assert.deepEqual(t.downs, [DOWN])
    assert.equal(t.sent.length, 0)
    assert.equal(t.made.length, 0, 'no channel is made for a core that is not there')
    t.restart()
    assert.equal(t.sent.length, 1)
  })

  it('a page that crashed gets nothing until it loads again', () => {
    const t = setup()
    t.link.pageLoaded()
    t.link.pageGone()
    t.restart()
    assert.equal(t.sent.length, 1)
    t.link.pageLoaded()
    assert.equal(t.sent.length, 2)
  })

  it('closes both ends when the core will not take its end', () => {
    const t = setup()
    t.sup.connect = () => false
    t.link.pageLoaded()
    assert.equal(t.sent.length, 0)
    assert.ok(t.made.length === 2 && t.made.every((p) => p.closed))
  })
})
