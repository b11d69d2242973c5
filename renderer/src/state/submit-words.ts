/** What the Submit screen says about the node's answers and the quorum, in words. */
import type { StatusView } from '../../../core/api/types.ts'

/** Null while the ledger can commit; otherwise why new entries will wait. */
export function quorumNotice(
  s: Pick<StatusView, 'hasQuorum' | 'online' | 'members'> | null,
): string | null {
  if (s === null || s.hasQuorum) return null
  const machines = s.members === 1 ? 'machine' : 'machines'
  return `No quorum: ${s.online} of ${s.members} ${machines} online. New entries are kept on this machine and commit once enough machines are back.`
}

export interface Failure {
  readonly text: string
  /**
   * Sending the same submission again (same Idempotency-Key) is safe and may succeed: the node
   * was not reached, its answer was lost, it was busy, or it is still answering the first try.
   */
  readonly retryable: boolean
}

export function failureOf(status: number, error: string): Failure {
  if (status === 0) {
    const said =
      error === '' ? 'The node is not answering' : error.charAt(0).toUpperCase() + error.slice(1)
    return {
      text: `${said}. The entry may or may not be stored: Try again sends this same submission, which the node never stores twice.`,
      retryable: true,
    }
  }
  if (status === 503) return { text: error, retryable: true }
  if (status === 409) {
    return { text: `The node is still answering the first try: ${error}`, retryable: true }
  }
  if (status >= 500) {
    return { text: `The node failed to store the entry: ${error}`, retryable: true }
  }
  if (status === 400) return { text: `The node refused this entry: ${error}`, retryable: false }
  return { text: error, retryable: false }
}
