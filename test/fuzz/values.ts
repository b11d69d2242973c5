/**
 * Valid values of every encoded type, for the decoders to accept and for mutations to start
 * from: drawn by fast-check across each field's whole range (edge lengths, non-ASCII text, nil
 * votes, the largest amounts), and real ones, signed, from a chain the test helpers build.
 * Drawn signatures are random bytes: no decoder checks a signature, and signing is slow.
 */
import fc from 'fast-check'
import type { SyncedBlock, WireMessage } from '../../core/consensus/messages.ts'
import {
  blockHash,
  entryId,
  LIMITS,
  signProposal,
  signVote,
  toHex,
} from '../../core/ledger/index.ts'
import type {
  Block,
  BlockHeader,
  Commit,
  Entry,
  EntryBody,
  Genesis,
  SignedEntry,
  SignedProposal,
  SignedVote,
  Transfer,
} from '../../core/ledger/types.ts'
import { Chain, entry, keypairs, makeGenesis, transfer } from '../unit/ledger/helpers.ts'

/** Plain objects, as decoders make them: fast-check also draws null-prototype ones otherwise. */
export function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true })
}

/**
 * Rounds a node can reach: u32 on the wire, but i32 where a record or a proposal names one
 * (`lockedRound`, `polRound`), so no node goes past 2^31 - 1. Mutations reach the rest.
 */
const roundNumber = fc.nat({ max: 2 ** 31 - 1 })
const u53 = fc.maxSafeNat()
const height = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex)
const signature = fc.uint8Array({ minLength: 64, maxLength: 64 })

const account = fc.stringMatching(/^@?[a-z0-9._-]{1,64}$/)
const asset = fc.stringMatching(/^[A-Z0-9]{1,12}$/)
/** Any code points, controls included, up to the limit in characters (not UTF-16 units). */
const memo = fc.string({ unit: 'binary', maxLength: LIMITS.memoChars })
/** Printable text: names may not hold control characters. */
const name = (max: number) =>
  fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: max })
const amount = fc.oneof(
  fc.bigInt({ min: 1n, max: LIMITS.maxAmount }),
  fc.constantFrom(1n, LIMITS.maxAmount),
)

const transferBody: fc.Arbitrary<Transfer> = record({
  from: account,
  to: account,
  asset,
  amount,
  memo,
})
  .filter((t) => t.from !== t.to)
  .map((t) => ({ kind: 'transfer', ...t }))

const memberBody: fc.Arbitrary<EntryBody> = fc.oneof(
  record({ member: hash, name: name(LIMITS.memberNameChars) }).map(
    (m): EntryBody => ({ kind: 'member', action: 'add', ...m }),
  ),
  hash.map((member): EntryBody => ({ kind: 'member', action: 'remove', member, name: '' })),
)

const entryValue: fc.Arbitrary<Entry> = record({
  ledger: hash,
  author: hash,
  nonce: u53,
  time: u53,
  body: fc.oneof({ arbitrary: transferBody, weight: 4 }, { arbitrary: memberBody, weight: 1 }),
})

export const signedEntry: fc.Arbitrary<SignedEntry> = record({ entry: entryValue, signature }).map(
  ({ entry, signature }) => ({ entry, id: entryId(entry), signature }),
)

export const commitValue: fc.Arbitrary<Commit> = record({
  height,
  round: roundNumber,
  blockHash: hash,
  signatures: fc.array(record({ validator: hash, signature }), { maxLength: 5 }),
})

const header: fc.Arbitrary<BlockHeader> = record({
  ledger: hash,
  height,
  round: roundNumber,
  prevHash: hash,
  proposer: hash,
  time: u53,
  entriesHash: hash,
  stateHash: hash,
  lastCommitHash: hash,
})

export const blockValue: fc.Arbitrary<Block> = record({
  header,
  entries: fc.array(signedEntry, { maxLength: 4 }),
  lastCommit: fc.option(commitValue, { nil: null }),
})

export const genesisValue: fc.Arbitrary<Genesis> = record({
  name: name(LIMITS.ledgerNameChars),
  time: u53,
  faultModel: fc.constantFrom('crash', 'byzantine'),
  members: fc.uniqueArray(record({ id: hash, name: name(LIMITS.memberNameChars) }), {
    minLength: 1,
    maxLength: 5,
    selector: (m) => m.id,
  }),
  assets: fc.uniqueArray(record({ code: asset, decimals: fc.nat(18) }), {
    maxLength: 4,
    selector: (a) => a.code,
  }),
})

/** Nil votes are the smallest encoding a list can hold: they must be drawn often. */
export function voteOf(
  fields: { height?: fc.Arbitrary<number>; round?: fc.Arbitrary<number> } = {},
) {
  return record({
    vote: record({
      ledger: hash,
      type: fc.constantFrom('prevote', 'precommit'),
      height: fields.height ?? height,
      round: fields.round ?? roundNumber,
      value: fc.option(hash, { nil: null, freq: 2 }),
      validator: hash,
    }),
    signature,
  }).map((v): SignedVote => v)
}

export const voteValue = voteOf()

/** A signed proposal's own fields: polRound is -1 or below its round, as the decoder requires. */
export function proposalHeadOf(rounds = roundNumber): fc.Arbitrary<Omit<SignedProposal, 'block'>> {
  return record({
    ledger: hash,
    height,
    round: rounds,
    polRound: fc.integer({ min: -1, max: 0x7fff_ffff }),
    blockHash: hash,
    proposer: hash,
    signature,
  }).map(({ signature, ...p }) => ({
    proposal: { ...p, polRound: p.polRound < p.round ? p.polRound : -1 },
    signature,
  }))
}

export const proposalValue: fc.Arbitrary<SignedProposal> = record({
  head: proposalHeadOf(),
  block: blockValue,
}).map(({ head, block }) => ({ ...head, block }))

const synced: fc.Arbitrary<SyncedBlock> = record({ block: blockValue, commit: commitValue })

const messageByType: { readonly [K in WireMessage['type']]: fc.Arbitrary<WireMessage> } = {
  entries: fc
    .array(signedEntry, { maxLength: 5 })
    .map((entries): WireMessage => ({ type: 'entries', entries })),
  proposal: proposalValue.map((proposal): WireMessage => ({ type: 'proposal', proposal })),
  vote: voteValue.map((vote): WireMessage => ({ type: 'vote', vote })),
  'sync-request': u53.map((from): WireMessage => ({ type: 'sync-request', from })),
  'sync-response': record({ tip: u53, blocks: fc.array(synced, { maxLength: 3 }) }).map(
    (r): WireMessage => ({ type: 'sync-response', ...r }),
  ),
}

export function messageOf(types: readonly WireMessage['type'][]): fc.Arbitrary<WireMessage> {
  return fc.oneof(...types.map((t) => messageByType[t]))
}

export const messageValue = messageOf([
  'entries',
  'proposal',
  'vote',
  'sync-request',
  'sync-response',
])

/** Real, signed values: a four-member chain of a few blocks, one of them full of entries. */
export interface RealValues {
  readonly genesis: Genesis
  readonly entries: readonly SignedEntry[]
  readonly blocks: readonly SyncedBlock[]
  readonly votes: readonly SignedVote[]
  readonly proposals: readonly SignedProposal[]
  readonly messages: readonly WireMessage[]
}

let real: RealValues | null = null

export function realValues(): RealValues {
  real ??= buildRealValues()
  return real
}

function buildRealValues(): RealValues {
  const kps = keypairs(4)
  const genesis = makeGenesis(kps, { assets: [{ code: 'JPY', decimals: 0 }] })
  const chain = new Chain(genesis, kps)
  const author = kps[0]!
  const pay = (i: number, memo = '') =>
    entry(chain.state, author, transfer({ to: `acct-${i}`, amount: BigInt(i + 1), memo }))
  const entries: SignedEntry[] = []
  const blocks: SyncedBlock[] = []
  for (const size of [0, 3, 120, 1]) {
    const batch = Array.from({ length: size }, (_, i) =>
      pay(entries.length + i, i % 7 === 0 ? 'café ☕ 👩‍👩‍👧' : ''),
    )
    entries.push(...batch)
    chain.add(batch)
    blocks.push({ block: chain.lastBlock!, commit: chain.lastCommit! })
  }
  const next = chain.next([pay(9_999, 'rent')], 2).block
  const ledger = chain.state.ledger
  const h = next.header.height
  const votes: SignedVote[] = []
  for (const kp of kps) {
    for (const type of ['prevote', 'precommit'] as const) {
      for (const value of [blockHash(next.header), null]) {
        votes.push(signVote(kp, { ledger, type, height: h, round: 2, value, validator: kp.id }))
      }
    }
  }
  const proposals = [-1, 0, 1].map((polRound) =>
    signProposal(
      author,
      {
        ledger,
        height: h,
        round: 2,
        polRound,
        blockHash: blockHash(next.header),
        proposer: author.id,
      },
      next,
    ),
  )
  const messages: WireMessage[] = [
    { type: 'entries', entries: entries.slice(0, 40) },
    { type: 'entries', entries: [] },
    ...proposals.map((proposal): WireMessage => ({ type: 'proposal', proposal })),
    ...votes.map((vote): WireMessage => ({ type: 'vote', vote })),
    { type: 'sync-request', from: 1 },
    { type: 'sync-response', tip: chain.state.height, blocks },
    { type: 'sync-response', tip: chain.state.height, blocks: blocks.slice(0, 1) },
    { type: 'sync-response', tip: 0, blocks: [] },
  ]
  return { genesis, entries, blocks, votes, proposals, messages }
}

/** Drawn values mostly, real ones often enough that their shapes (big blocks) are mutated too. */
export function drawnOrReal<T>(drawn: fc.Arbitrary<T>, pick: () => readonly T[]): fc.Arbitrary<T> {
  return fc.oneof(
    { arbitrary: drawn, weight: 3 },
    { arbitrary: fc.nat().map((i) => pick()[i % pick().length]!), weight: 1 },
  )
}
