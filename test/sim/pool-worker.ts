import { parentPort, workerData } from 'node:worker_threads'
import { Verifier } from '../../core/ledger/crypto.ts'
import type { WorkerReply } from './pool.ts'
import { runSchedule } from './schedule.ts'

const { faultModel, nodes } = workerData as {
  faultModel: 'crash' | 'byzantine'
  nodes: number | undefined
}
const verifier = new Verifier()

parentPort!.on('message', ({ from, count }: { from: number; count: number }) => {
  const replies: WorkerReply[] = []
  for (let seed = from; seed < from + count; seed++) {
    try {
      const { trace: _trace, ...result } = runSchedule({ seed, faultModel, nodes, verifier })
      replies.push(result)
    } catch (e) {
      replies.push({ seed, error: e instanceof Error ? (e.stack ?? e.message) : String(e) })
    }
  }
  parentPort!.postMessage(replies)
})
