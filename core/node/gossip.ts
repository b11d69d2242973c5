/**
 * What gossip may carry, judged before gossipsub forwards it: a message must decode within the
 * limits, travel on its own topic, and be signed by a member. A peer that sends what is wrong on
 * every node (does not decode, another ledger, a bad signature) is penalised by the network
 * layer. A signer this node does not know as a member is not such a thing: it may have been added
 * at a height this node has not reached, or removed after the message was signed, and an honest
 * peer that is ahead or behind forwards it in good faith. Those messages are ignored: neither
 * delivered nor forwarded, and judged before any signature is checked, so a non-member gets
 * nothing through and costs a decode. Signatures go through the node's verification memo, so the
 * replica's own checks of the same message afterwards cost a lookup, not a verification.
 */
import { decodeMessage, type WireMessage } from '../consensus/messages.ts'
import { bodyMismatch } from '../ledger/block.ts'
import type { Verifier } from '../ledger/crypto.ts'
import { verifyEntry, verifyProposal, verifyVote } from '../ledger/signing.ts'
import type { Hash, NodeId } from '../ledger/types.ts'
import type { Topic, Verdict } from '../net/host.ts'

export function topicOf(message: WireMessage): Topic | null {
  switch (message.type) {
    case 'entries':
      return 'entries'
    case 'proposal':
    case 'vote':
      return 'consensus'
    default:
      return null
  }
}

export interface GossipContext {
  readonly ledger: Hash
  readonly verifier: Verifier
  /** A member at this node's height: who may author entries, propose and vote. */
  isMember(id: NodeId): boolean
  /**
   * Who may fetch blocks from this node: a member, but also a machine whose addition is
   * committed and not yet in force (it must catch up before it can vote).
   */
  maySync(id: NodeId): boolean
}

export type Judged =
  | { readonly verdict: 'accept'; readonly message: WireMessage }
  | { readonly verdict: Exclude<Verdict, 'accept'>; readonly reason: string }

export function judgeGossip(ctx: GossipContext, topic: Topic, data: Uint8Array): Judged {
  let message: WireMessage
  try {
    message = decodeMessage(data)
  } catch (error) {
    return { verdict: 'reject', reason: `does not decode: ${(error as Error).message}` }
  }
  return judgeMessage(ctx, topic, message)
}

/** The same judgement of a message already decoded (one that came on a direct stream). */
export function judgeMessage(ctx: GossipContext, topic: Topic, message: WireMessage): Judged {
  if (topicOf(message) !== topic) {
    return { verdict: 'reject', reason: `a ${message.type} message on the ${topic} topic` }
  }
  switch (message.type) {
    case 'entries': {
      for (const e of message.entries) {
        if (e.entry.ledger !== ctx.ledger)
          return { verdict: 'reject', reason: 'entry of another ledger' }
      }
      // Every author first, so that a batch to be ignored costs no signature check.
      for (const e of message.entries) {
        if (!ctx.isMember(e.entry.author)) return notMember('entry', e.entry.author)
      }
      for (const e of message.entries) {
        const error = verifyEntry(ctx.verifier, e)
        if (error !== null) return { verdict: 'reject', reason: error }
      }
      break
    }
    case 'proposal': {
      const p = message.proposal.proposal
      if (p.ledger !== ctx.ledger)
        return { verdict: 'reject', reason: 'proposal of another ledger' }
      if (!ctx.isMember(p.proposer)) return notMember('proposal', p.proposer)
      if (!verifyProposal(ctx.verifier, message.proposal)) {
        return { verdict: 'reject', reason: 'bad proposal signature' }
      }
      // A body swapped under a signed header must not travel on: peers would judge the real block
      // by it.
      const forged = bodyMismatch(message.proposal.block)
      if (forged !== null) return { verdict: 'reject', reason: `proposal block ${forged}` }
      break
    }
    case 'vote': {
      const v = message.vote.vote
      if (v.ledger !== ctx.ledger) return { verdict: 'reject', reason: 'vote of another ledger' }
      if (!ctx.isMember(v.validator)) return notMember('vote', v.validator)
      if (!verifyVote(ctx.verifier, message.vote)) {
        return { verdict: 'reject', reason: 'bad vote signature' }
      }
      break
    }
  }
  return { verdict: 'accept', message }
}

function notMember(what: string, signer: NodeId): Judged {
  return {
    verdict: 'ignore',
    reason: `${what} by ${signer.slice(0, 8)}, not a member here (yet, or any more)`,
  }
}

/**
 * A message on the direct protocol, which no gossip validator saw. Proposals and votes (sent
 * there when every member is connected) are judged as gossip would judge them. Block sync is for
 * members only, and a request is served only if `mayServe` lets it (each costs a read and a
 * large answer); one refused is ignored, not penalised: an honest node catching up asks as fast
 * as it is answered. Entries travel by gossip only.
 */
export function judgeDirect(
  ctx: GossipContext,
  data: Uint8Array,
  from: NodeId,
  mayServe: (from: NodeId) => boolean,
): Judged {
  let message: WireMessage
  try {
    message = decodeMessage(data)
  } catch (error) {
    return {
      verdict: 'reject',
      reason: `direct message does not decode: ${(error as Error).message}`,
    }
  }
  switch (message.type) {
    case 'proposal':
    case 'vote':
      return judgeMessage(ctx, 'consensus', message)
    case 'sync-request':
      if (!ctx.maySync(from)) return { verdict: 'ignore', reason: 'block sync is for members' }
      if (!mayServe(from)) return { verdict: 'ignore', reason: 'over its block sync rate' }
      return { verdict: 'accept', message }
    case 'sync-response':
      return { verdict: 'accept', message }
    default:
      return { verdict: 'reject', reason: `a ${message.type} message on the direct protocol` }
  }
}
