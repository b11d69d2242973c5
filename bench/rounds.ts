/**
 * `node --import tsx bench/rounds.ts`: what votes for many rounds cost the consensus machine.
 * A validator of a 4-node byzantine ledger sends one prevote nil for each of rounds 1..5,000 to a
 * node in round 0; then the node is stepped with inputs that change nothing (a duplicate vote) and
 * with its rebroadcast timeout, and the median time of one `step` is printed with the number of
 * rounds the machine keeps. Before the round bounds every round was kept and scanned each step.
 */
import { initialState, step } from '../core/consensus/machine.ts'
import type { ConsensusState, Input } from '../core/consensus/types.ts'
import { Cluster } from '../test/unit/consensus/harness.ts'

const ROUNDS = 5_000
const SAMPLES = 2_000

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

function timeSteps(state: ConsensusState, input: Input): number {
  const times: number[] = []
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now()
    step(state, input)
    times.push(performance.now() - t0)
  }
  return median(times) * 1_000
}

const c = new Cluster(4, 'byzantine')
let state = step(initialState(c.config(0)), c.start()).state
const duplicate = c.prevote(2, 0, null)
state = step(state, duplicate).state
const baseline = timeSteps(state, duplicate)
for (let r = 1; r <= ROUNDS; r++) state = step(state, c.prevote(1, r, null)).state
const afterVotes = timeSteps(state, duplicate)
const rebroadcast = timeSteps(state, c.timeout('rebroadcast', 0))
console.log(
  `rounds kept after ${ROUNDS} rounds of prevotes from one validator: ${state.rounds.size}`,
)
console.log(
  `one step, duplicate vote, before the flood:  ${baseline.toFixed(1)} µs (median of ${SAMPLES})`,
)
console.log(`one step, duplicate vote, after the flood:   ${afterVotes.toFixed(1)} µs`)
console.log(`one step, rebroadcast timeout, after:        ${rebroadcast.toFixed(1)} µs`)

// Crash mode: one signed vote for a far round moves a node (L55 needs a single vote there).
for (const far of [2 ** 31 - 1, 2 ** 32 - 1]) {
  const k = new Cluster(3, 'crash')
  let s = step(initialState(k.config(0)), k.start()).state
  s = step(s, k.prevote(1, far, null)).state
  let line = `crash mode, one prevote of round ${far} from v1: the node goes to round ${s.round}`
  try {
    // Then the round's timeouts, as if nothing else happened: timeoutPropose, and a quorum
    // of precommits whose timeout starts the next round.
    s = step(s, k.timeout('propose', s.round)).state
    s = step(s, k.precommit(2, s.round, null)).state
    s = step(s, k.timeout('precommit', s.round)).state
    s = step(s, k.timeout('propose', s.round)).state
    line += `; after its timeouts, round ${s.round}, step ${s.step}`
  } catch (e) {
    line += `; then step throws: ${(e as Error).message}`
  }
  console.log(line)
}
