/** What the quorum means now, in the words the header and the Peers screen use. */
import type { StatusView } from '../../../core/api/types.ts'

export interface QuorumSummary {
  readonly healthy: boolean
  /** `ok` with machines to spare; `warn` when one more loss stops commits; `bad` when stopped. */
  readonly level: 'ok' | 'warn' | 'bad'
  /** "3 of 3 online — can lose 1 more" or "1 of 3 online — waiting for quorum, nothing commits". */
  readonly text: string
}

export function quorumSummary(s: Pick<StatusView, 'online' | 'members' | 'quorum'>): QuorumSummary {
  const head = `${s.online} of ${s.members} online`
  if (s.online < s.quorum) {
    return { healthy: false, level: 'bad', text: `${head} — waiting for quorum, nothing commits` }
  }
  const spare = s.online - s.quorum
  const tail =
    spare === 0
      ? s.members === 1
        ? 'a ledger of one machine'
        : 'cannot lose any more'
      : `can lose ${spare} more`
  const level = spare === 0 && s.members > 1 ? 'warn' : 'ok'
  return { healthy: true, level, text: `${head} — ${tail}` }
}
