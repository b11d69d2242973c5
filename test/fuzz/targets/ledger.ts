/** The ledger's own decoders: signed entries, blocks, commits, the genesis, votes, proposals. */
import {
  decodeBlock,
  decodeCommit,
  decodeGenesis,
  decodeSignedEntry,
  decodeSignedProposal,
  decodeSignedVote,
  encodeBlock,
  encodeCommit,
  encodeGenesis,
  encodeSignedEntry,
  encodeSignedProposal,
  encodeSignedVote,
} from '../../../core/ledger/encoding.ts'
import { checkBlock, checkCommit, checkEntry, checkGenesis, within } from '../bounds.ts'
import type { FuzzTarget } from '../engine.ts'
import {
  blockValue,
  commitValue,
  drawnOrReal,
  genesisValue,
  proposalValue,
  realValues,
  signedEntry,
  voteValue,
} from '../values.ts'
import { codecTarget } from './codec.ts'

export const ledgerTargets: readonly FuzzTarget[] = [
  codecTarget({
    name: 'signed entry',
    weight: 8,
    codec: { decode: decodeSignedEntry, encode: encodeSignedEntry, check: checkEntry },
    valid: drawnOrReal(signedEntry, () => realValues().entries),
  }),
  codecTarget({
    name: 'block',
    weight: 8,
    codec: { decode: decodeBlock, encode: encodeBlock, check: checkBlock },
    valid: drawnOrReal(blockValue, () => realValues().blocks.map((b) => b.block)),
  }),
  codecTarget({
    name: 'commit',
    weight: 3,
    codec: { decode: decodeCommit, encode: encodeCommit, check: checkCommit },
    valid: drawnOrReal(commitValue, () => realValues().blocks.map((b) => b.commit)),
  }),
  codecTarget({
    name: 'genesis',
    weight: 5,
    codec: { decode: decodeGenesis, encode: encodeGenesis, check: checkGenesis },
    valid: drawnOrReal(genesisValue, () => [realValues().genesis]),
  }),
  codecTarget({
    name: 'vote',
    weight: 5,
    codec: {
      decode: decodeSignedVote,
      encode: encodeSignedVote,
      check: (v) => within(v.vote.height >= 1, 'vote height'),
    },
    valid: drawnOrReal(voteValue, () => realValues().votes),
  }),
  codecTarget({
    name: 'proposal',
    weight: 5,
    codec: {
      decode: decodeSignedProposal,
      encode: encodeSignedProposal,
      check: (p) => {
        within(p.proposal.polRound >= -1 && p.proposal.polRound < p.proposal.round, 'polRound')
        checkBlock(p.block)
      },
    },
    valid: drawnOrReal(proposalValue, () => realValues().proposals),
  }),
]
