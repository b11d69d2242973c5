/**
 * A table-driven harness for the consensus machine, in the style of malachite's driver tests
 * (core-driver/tests/it/basic.rs): a table is a list of rows, each with a sentence, one input,
 * the effects it must produce (by type and key fields) and the state fields after it.
 *
 * Validators come from fixed seeds and are named by their index in id order (`v0`, `v1`, ...),
 * blocks by a letter (`A`, `B`, ...). Every row also checks invariants that hold for any input:
 * the input state is not mutated, a newly signed message is persisted before it is broadcast, the
 * machine only broadcasts its own messages (and the polka behind its valid value), and every
 * effect is about the current height.
 */
import assert from 'node:assert/strict'
import { initialState, step } from '../../../core/consensus/machine.ts'
import type {
  ConsensusConfig,
  ConsensusState,
  Effect,
  Input,
  Step,
  TimeoutKind,
  Transition,
  WalRecord,
} from '../../../core/consensus/types.ts'
import type {
  Block,
  FaultModel,
  Hash,
  Keypair,
  NodeId,
  SignedProposal,
  SignedVote,
  Validator,
  VoteType,
} from '../../../core/ledger/index.ts'
import {
  blockHash,
  buildBlock,
  LedgerState,
  signProposal,
  signVote,
  thresholdsFor,
  toHex,
} from '../../../core/ledger/index.ts'
import { keypair, keypairs, makeGenesis } from '../ledger/helpers.ts'

/** A validator by its index in id order. */
export type Who = number

export interface MessageOptions {
  readonly height?: number
  readonly ledger?: Hash
}

/** A fixed set of validators of one ledger, and the blocks and messages tables talk about. */
export class Cluster {
  readonly keys: readonly Keypair[]
  readonly validators: readonly Validator[]
  readonly ledger: Hash
  readonly model: FaultModel
  readonly #ledgerState: LedgerState
  readonly #blocks = new Map<string, Block>()
  readonly #blockNames = new Map<Hash, string>()
  readonly #names = new Map<NodeId, string>()

  constructor(n: number, model: FaultModel) {
    this.model = model
    this.keys = keypairs(n)
    this.#ledgerState = LedgerState.fromGenesis(makeGenesis(this.keys, { faultModel: model }))
    this.ledger = this.#ledgerState.ledger
    this.validators = this.#ledgerState.validators()
    assert.deepEqual(
      this.validators.map((v) => v.id),
      this.keys.map((k) => k.id),
      'validators are the keypairs in id order',
    )
    this.keys.forEach((k, i) => {
      this.#names.set(k.id, `v${i}`)
    })
  }

  key(who: Who): Keypair {
    const k = this.keys[who]
    if (k === undefined) throw new Error(`no validator v${who}`)
    return k
  }

  id(who: Who): NodeId {
    return this.key(who).id
  }

  /** `v0`, `v1`, ... for validators, a short id for anyone else. */
  nameOf(id: NodeId): string {
    return this.#names.get(id) ?? `outsider ${id.slice(0, 8)}`
  }

  /** A block of height 1 named by `name`: blocks with different names have different hashes. */
  block(name: string): Block {
    let b = this.#blocks.get(name)
    if (b === undefined) {
      b = buildBlock({
        state: this.#ledgerState,
        candidates: [],
        proposer: this.id(0),
        round: 0,
        time: 1_700_000_000_000 + [...name].reduce((t, c) => t * 131 + c.charCodeAt(0), 0),
        lastCommit: null,
      }).block
      this.#blocks.set(name, b)
      this.#blockNames.set(blockHash(b.header), name)
    }
    return b
  }

  hash(name: string): Hash {
    return blockHash(this.block(name).header)
  }

  /** The name of a block hash the tables made, or a short prefix of one they did not. */
  blockName(hash: Hash | null): string | null {
    if (hash === null) return null
    return this.#blockNames.get(hash) ?? `#${hash.slice(0, 8)}`
  }

  config(self: Who, waitForWork = false): ConsensusConfig {
    return {
      ledger: this.ledger,
      signer: this.key(self),
      thresholds: thresholdsFor(this.model),
      waitForWork,
    }
  }

  // Inputs

  start(
    options: { passOver?: readonly Who[]; wal?: WalRecord; height?: number } = {},
  ): Extract<Input, { type: 'start-height' }> {
    return {
      type: 'start-height',
      height: options.height ?? 1,
      validators: this.validators,
      passOver: (options.passOver ?? []).map((w) => this.id(w)),
      wal: options.wal,
    }
  }

  signedProposal(
    from: Who,
    round: number,
    block: string,
    options: MessageOptions & { polRound?: number } = {},
  ): SignedProposal {
    const kp = this.key(from)
    return signProposal(
      kp,
      {
        ledger: options.ledger ?? this.ledger,
        height: options.height ?? 1,
        round,
        polRound: options.polRound ?? -1,
        blockHash: this.hash(block),
        proposer: kp.id,
      },
      this.block(block),
    )
  }

  proposal(
    from: Who,
    round: number,
    block: string,
    options: MessageOptions & { polRound?: number; valid?: boolean } = {},
  ): Input {
    return {
      type: 'proposal',
      proposal: this.signedProposal(from, round, block, options),
      valid: options.valid ?? true,
    }
  }

  /** A vote signed by validator `from`, or by any keypair (an outsider). */
  signedVote(
    type: VoteType,
    from: Who | Keypair,
    round: number,
    value: string | null,
    options: MessageOptions = {},
  ): SignedVote {
    const kp = typeof from === 'number' ? this.key(from) : from
    return signVote(kp, {
      ledger: options.ledger ?? this.ledger,
      type,
      height: options.height ?? 1,
      round,
      value: value === null ? null : this.hash(value),
      validator: kp.id,
    })
  }

  prevote(from: Who | Keypair, round: number, value: string | null, options?: MessageOptions) {
    return { type: 'vote', vote: this.signedVote('prevote', from, round, value, options) } as const
  }

  precommit(from: Who | Keypair, round: number, value: string | null, options?: MessageOptions) {
    return {
      type: 'vote',
      vote: this.signedVote('precommit', from, round, value, options),
    } as const
  }

  value(round: number, block: string, height = 1): Input {
    return { type: 'value', height, round, block: this.block(block) }
  }

  timeout(kind: TimeoutKind, round: number, height = 1): Input {
    return { type: 'timeout', timeout: { kind, height, round } }
  }

  peerLost(who: Who): Input {
    return { type: 'peer-lost', peer: this.id(who) }
  }

  /** A write-ahead record of height 1, empty unless `fields` says otherwise. */
  wal(fields: Partial<WalRecord>): WalRecord {
    return walRecord(fields)
  }

  // Summaries: what a table compares, with names instead of hashes.

  voteLabel(sv: SignedVote): string {
    const v = sv.vote
    return `${v.type} r${v.round} ${this.blockName(v.value) ?? 'nil'}`
  }

  proposalLabel(sp: SignedProposal): string {
    const p = sp.proposal
    return `r${p.round} ${this.blockName(p.blockHash)} pol ${p.polRound}`
  }

  summarize(e: Effect): EffectSummary {
    switch (e.type) {
      case 'persist':
        return {
          type: 'persist',
          height: e.wal.height,
          round: e.wal.round,
          step: e.wal.step,
          lockedRound: e.wal.lockedRound,
          lockedBlock: this.blockName(e.wal.lockedBlock && blockHash(e.wal.lockedBlock.header)),
          validRound: e.wal.validRound,
          validBlock: this.blockName(e.wal.validBlock && blockHash(e.wal.validBlock.header)),
          validPolka: e.wal.validPolka.map(
            (v) => `${this.nameOf(v.vote.validator)} ${this.voteLabel(v)}`,
          ),
          votes: e.wal.votes.map((v) => this.voteLabel(v)),
          proposals: e.wal.proposals.map((p) => this.proposalLabel(p)),
        }
      case 'broadcast-proposal':
        return {
          type: 'broadcast-proposal',
          height: e.proposal.proposal.height,
          round: e.proposal.proposal.round,
          polRound: e.proposal.proposal.polRound,
          block: this.blockName(e.proposal.proposal.blockHash) ?? '',
          proposer: this.nameOf(e.proposal.proposal.proposer),
        }
      case 'broadcast-vote':
        return {
          type: 'broadcast-vote',
          height: e.vote.vote.height,
          vote: e.vote.vote.type,
          round: e.vote.vote.round,
          value: this.blockName(e.vote.vote.value),
          validator: this.nameOf(e.vote.vote.validator),
        }
      case 'schedule':
        return {
          type: 'schedule',
          kind: e.timeout.kind,
          height: e.timeout.height,
          round: e.timeout.round,
        }
      case 'get-value':
        return { type: 'get-value', height: e.height, round: e.round }
      case 'decide':
        return {
          type: 'decide',
          height: e.height,
          round: e.round,
          block: this.blockName(blockHash(e.block.header)) ?? '',
          commit: {
            height: e.commit.height,
            round: e.commit.round,
            block: this.blockName(e.commit.blockHash) ?? '',
            signers: e.commit.signatures.map((s) => this.nameOf(s.validator)),
          },
        }
      case 'equivocation':
        return {
          type: 'equivocation',
          validator: this.nameOf(e.validator),
          height: e.height,
          round: e.round,
          what: e.what,
        }
    }
  }
}

export type EffectSummary =
  | {
      readonly type: 'persist'
      readonly height: number
      readonly round: number
      readonly step: Step
      readonly lockedRound: number
      readonly lockedBlock: string | null
      readonly validRound: number
      readonly validBlock: string | null
      readonly validPolka: readonly string[]
      readonly votes: readonly string[]
      readonly proposals: readonly string[]
    }
  | {
      readonly type: 'broadcast-proposal'
      readonly height: number
      readonly round: number
      readonly polRound: number
      readonly block: string
      readonly proposer: string
    }
  | {
      readonly type: 'broadcast-vote'
      readonly height: number
      readonly vote: VoteType
      readonly round: number
      readonly value: string | null
      readonly validator: string
    }
  | {
      readonly type: 'schedule'
      readonly kind: TimeoutKind
      readonly height: number
      readonly round: number
    }
  | { readonly type: 'get-value'; readonly height: number; readonly round: number }
  | {
      readonly type: 'decide'
      readonly height: number
      readonly round: number
      readonly block: string
      readonly commit: {
        readonly height: number
        readonly round: number
        readonly block: string
        readonly signers: readonly string[]
      }
    }
  | {
      readonly type: 'equivocation'
      readonly validator: string
      readonly height: number
      readonly round: number
      readonly what: 'prevote' | 'precommit' | 'proposal'
    }

/** An expected effect: its type and whichever of its summary's fields the row cares about. */
export type ExpectedEffect = {
  [K in EffectSummary['type']]: { readonly type: K } & Partial<Extract<EffectSummary, { type: K }>>
}[EffectSummary['type']]

// Builders for expected effects, so a table reads like the paper.

type Fields<K extends EffectSummary['type']> = Partial<
  Omit<Extract<EffectSummary, { type: K }>, 'type'>
>

export const persists = (fields: Fields<'persist'> = {}): ExpectedEffect => ({
  type: 'persist',
  ...fields,
})

export const proposes = (round: number, block: string, polRound = -1): ExpectedEffect => ({
  type: 'broadcast-proposal',
  round,
  block,
  polRound,
})

/** A broadcast vote; `validator` (say `'v1'`) only when it is not this node's own. */
export const sends = (
  vote: VoteType,
  round: number,
  value: string | null,
  validator?: string,
): ExpectedEffect => ({
  type: 'broadcast-vote',
  vote,
  round,
  value,
  ...(validator === undefined ? {} : { validator }),
})

export const schedules = (kind: TimeoutKind, round: number): ExpectedEffect => ({
  type: 'schedule',
  kind,
  round,
})

export const asksForValue = (round: number): ExpectedEffect => ({ type: 'get-value', round })

export const decides = (round: number, block: string, signers: readonly string[]) =>
  ({
    type: 'decide',
    round,
    block,
    commit: { height: 1, round, block, signers },
  }) satisfies ExpectedEffect

export const reportsEquivocation = (
  validator: string,
  round: number,
  what: 'prevote' | 'precommit' | 'proposal',
): ExpectedEffect => ({ type: 'equivocation', validator, round, what })

/** State fields after a row; lockedRound and validRound are -1 and height is 1 unless given. */
export interface ExpectedState {
  readonly height?: number
  readonly round: number
  readonly step: Step
  readonly lockedRound?: number
  readonly validRound?: number
  /** Checked only when given. */
  readonly lockedBlock?: string | null
  readonly validBlock?: string | null
}

export interface Row {
  readonly desc: string
  readonly input: Input
  readonly effects: readonly ExpectedEffect[]
  readonly state: ExpectedState
  /** Further assertions on this row's transition. */
  readonly check?: (t: Transition, before: ConsensusState) => void
}

export interface RunOptions {
  readonly waitForWork?: boolean
  /** Start from this state instead of a fresh machine. */
  readonly from?: ConsensusState
}

export interface RunResult {
  readonly state: ConsensusState
  readonly transitions: readonly Transition[]
  /** Newly signed messages that the invariant check saw persisted before their broadcast. */
  readonly newlySigned: number
}

/** Feeds each row's input through `step` and asserts its effects, its state and the invariants. */
/** A write-ahead record of height 1, empty unless `fields` says otherwise. */
export function walRecord(fields: Partial<WalRecord>): WalRecord {
  return {
    height: 1,
    round: 0,
    step: 'propose',
    lockedRound: -1,
    lockedBlock: null,
    validRound: -1,
    validBlock: null,
    validPolka: [],
    roundCertificate: [],
    votes: [],
    proposals: [],
    ...fields,
  }
}

export function run(
  cluster: Cluster,
  self: Who,
  table: readonly Row[],
  options: RunOptions = {},
): RunResult {
  let state = options.from ?? initialState(cluster.config(self, options.waitForWork ?? false))
  const transitions: Transition[] = []
  let newlySigned = 0
  table.forEach((row, i) => {
    const where = `row ${i} (${row.desc})`
    const before = snapshot(state)
    const t = step(state, row.input)
    assert.deepStrictEqual(snapshot(state), before, `${where}: step mutated its input state`)
    assert.equal(t.state.config, state.config, `${where}: config is carried over as is`)

    const actual = t.effects.map((e) => cluster.summarize(e))
    const picked = actual.map((s, j) => {
      const want = row.effects[j]
      return want === undefined ? s : pick(s, want)
    })
    assert.deepStrictEqual(
      picked,
      row.effects,
      `${where}: effects\n  actual: ${JSON.stringify(actual)}`,
    )

    const want = row.state
    assert.deepStrictEqual(
      {
        height: t.state.height,
        round: t.state.round,
        step: t.state.step,
        lockedRound: t.state.lockedRound,
        validRound: t.state.validRound,
      },
      {
        height: want.height ?? 1,
        round: want.round,
        step: want.step,
        lockedRound: want.lockedRound ?? -1,
        validRound: want.validRound ?? -1,
      },
      `${where}: state`,
    )
    if (want.lockedBlock !== undefined) {
      const locked = t.state.lockedBlock && blockHash(t.state.lockedBlock.header)
      assert.equal(cluster.blockName(locked), want.lockedBlock, `${where}: locked block`)
    }
    if (want.validBlock !== undefined) {
      const valid = t.state.validBlock && blockHash(t.state.validBlock.header)
      assert.equal(cluster.blockName(valid), want.validBlock, `${where}: valid block`)
    }

    newlySigned += checkInvariants(cluster, state, row.input, t, where)
    row.check?.(t, state)
    transitions.push(t)
    state = t.state
  })
  return { state, transitions, newlySigned }
}

/**
 * Invariants of every transition. Returns how many newly signed messages it checked.
 * - A broadcast of a message this node did not hold before the step (newly signed; a WAL being
 *   resumed counts as held) comes after a
 *   `persist` whose record contains it.
 * - The node broadcasts only messages it signed itself, and the polka behind its valid value.
 * - Every effect is about the height the machine is at after the step.
 */
export function checkInvariants(
  cluster: Cluster,
  before: ConsensusState,
  input: Input,
  t: Transition,
  where: string,
): number {
  const self = before.config.signer.id
  // What the node signed before this step: its own messages, or those of a WAL it resumes from.
  const wal = input.type === 'start-height' ? input.wal : undefined
  const held = new Set([
    ...before.ownVotes.map(voteKey),
    ...before.ownProposals.map(proposalKey),
    ...(wal?.votes ?? []).map(voteKey),
    ...(wal?.proposals ?? []).map(proposalKey),
  ])
  const persisted = new Set<string>()
  let checked = 0
  t.effects.forEach((e, j) => {
    const at = `${where}, effect ${j} (${e.type})`
    switch (e.type) {
      case 'persist':
        for (const v of e.wal.votes) persisted.add(voteKey(v))
        for (const p of e.wal.proposals) persisted.add(proposalKey(p))
        assert.equal(e.wal.height, t.state.height, `${at}: record of another height`)
        break
      case 'broadcast-vote': {
        // Someone else's vote goes out only as part of the polka behind our valid value, or of
        // the votes that moved us into this round.
        const own = e.vote.vote.validator === self
        if (!own) {
          const relayed = [...before.validPolka, ...before.roundCertificate]
          assert.ok(relayed.includes(e.vote), `${at}: broadcasts someone else's vote`)
        }
        assert.equal(e.vote.vote.height, t.state.height, `${at}: vote of another height`)
        const k = voteKey(e.vote)
        if (own && !held.has(k)) {
          checked++
          assert.ok(persisted.has(k), `${at}: newly signed vote broadcast before it was persisted`)
        }
        break
      }
      case 'broadcast-proposal': {
        const p = e.proposal.proposal
        assert.equal(p.proposer, self, `${at}: broadcasts someone else's proposal`)
        assert.equal(p.height, t.state.height, `${at}: proposal of another height`)
        assert.equal(p.ledger, cluster.ledger, `${at}: proposal of another ledger`)
        const k = proposalKey(e.proposal)
        if (!held.has(k)) {
          checked++
          assert.ok(persisted.has(k), `${at}: new proposal broadcast before it was persisted`)
        }
        break
      }
      case 'schedule':
        assert.equal(e.timeout.height, t.state.height, `${at}: timeout of another height`)
        break
      case 'get-value':
      case 'decide':
      case 'equivocation':
        assert.equal(e.height, t.state.height, `${at}: effect of another height`)
        break
    }
  })
  return checked
}

export function voteKey(sv: SignedVote): string {
  const v = sv.vote
  return `vote ${v.ledger} ${v.type} ${v.height} ${v.round} ${v.value} ${v.validator} ${toHex(sv.signature)}`
}

export function proposalKey(sp: SignedProposal): string {
  const p = sp.proposal
  return `proposal ${p.ledger} ${p.height} ${p.round} ${p.polRound} ${p.blockHash} ${p.proposer} ${toHex(sp.signature)}`
}

/** A deep copy of everything in a state but its config (which holds the signing key). */
export function snapshot(s: ConsensusState): unknown {
  return structuredClone({ ...s, config: null })
}

function pick<S extends EffectSummary>(summary: S, want: ExpectedEffect): Partial<S> {
  const out: Partial<S> = {}
  for (const k of Object.keys(want) as (keyof S)[]) {
    if (k in summary) out[k] = summary[k]
  }
  return out
}

/** A validator that is not in any cluster. */
export const outsider = (n: number): Keypair => keypair(100 + n)
