/**
 * Makes a Lan and then dies badly, for netns.test.ts to check that nothing is left behind:
 *
 *   node --import tsx test/lan/crasher.ts <prefix> <exit|throw|wait>
 *
 * It prints one JSON line (its namespaces and the pid of a `sleep` running in host 0), then
 * calls process.exit, throws, or waits for the test's signal.
 */
import { Lan } from './netns.ts'

const [prefix, mode] = process.argv.slice(2)
if (!prefix || !mode) throw new Error('usage: crasher.ts <prefix> <exit|throw|wait>')

const lan = await Lan.create({ hosts: 2, prefix })
const sleeper = lan.spawn(0, 'sleep', ['1000'], { stdio: 'ignore' })
process.stdout.write(
  `${JSON.stringify({ namespaces: [lan.bridgeNs, ...lan.hosts.map((h) => h.ns)], sleeper: sleeper.pid })}\n`,
)

if (mode === 'exit') process.exit(3)
if (mode === 'throw') throw new Error('crasher: deliberate crash')
setInterval(() => {}, 1000)
