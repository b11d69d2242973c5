/**
 * The API contract: the only thing the renderer, scripts and other tools know of a node. Plain
 * JSON-safe data, no classes, no bigints: amounts travel as decimal strings of minor units,
 * because a ledger sum can pass 2^53 and JSON numbers would round it silently.
 *
 * This module holds types only, so a browser bundle can import it without pulling in Node code.
 */

export type EntryStatus = 'submitted' | 'relayed' | 'committed' | 'rejected'
export type Step = 'idle' | 'propose' | 'prevote' | 'precommit' | 'decided'
export type FaultModel = 'crash' | 'byzantine'

/** `POST /api/entries`. `amount` is a positive integer of minor units, as a number or digits. */
export interface TransferRequest {
  readonly from: string
  readonly to: string
  readonly asset: string
  readonly amount: number | string
  readonly memo?: string
}

/** `202` answer to a submitted entry: it is on this node's disk. */
export interface SubmitResponse {
  readonly id: string
  readonly status: EntryStatus
}

export interface ErrorResponse {
  readonly error: string
}

/**
 * The `Idempotency-Key` request header of `POST /api/entries` and `POST /api/entries/batch`
 * (draft-ietf-httpapi-idempotency-key-header): 1 to 255 printable ASCII characters, compared
 * exactly as sent; one fresh random UUID per submission, sent again on every retry of it. The same
 * key with the same method, path and body bytes gets the first answer again, with the response
 * header `Idempotent-Replayed: true`, and stores nothing; with another request it gets `422`,
 * while the first is still being answered `409`, and a malformed key `400`. A key is kept with
 * the entries it answered for, at least 24 hours; a request that stored nothing keeps no key.
 */
export type IdempotencyKey = string

/** `POST /api/entries/batch`: 1 to 1,000 transfers, each read as `POST /api/entries` reads one. */
export interface BatchRequest {
  readonly entries: readonly TransferRequest[]
}

/** `202` answer to a batch: every entry is on this node's disk; one result per item, in order. */
export interface BatchResponse {
  readonly entries: readonly SubmitResponse[]
}

/** `400` to a batch with an item that is malformed or that the ledger can never accept: nothing was stored. */
export interface BatchItemErrorResponse extends ErrorResponse {
  /** The position in `entries` of the (first) item at fault; `error` starts `entries[<index>]:`. */
  readonly index: number
}

/** One item's fate when the node refused or failed part of a checked batch. */
export type BatchItemResult = SubmitResponse | ErrorResponse

/**
 * A batch that passed every check but was not wholly stored: `207` when some items are on disk
 * (those with an `id`), `400` when the ledger refused them all, `500` when none were stored
 * because the node failed. One result per item, in order; `error` says how many failed.
 */
export interface BatchPartialResponse extends ErrorResponse {
  readonly entries: readonly BatchItemResult[]
}

interface EntryCommon {
  readonly id: string
  readonly status: EntryStatus
  /** The block that committed or rejected it. */
  readonly height?: number
  readonly reason?: string
  /** The member machine that signed it. */
  readonly author: string
  readonly nonce: number
  /** The author's clock when it was signed, ms since the epoch (informational). */
  readonly time: number
  /** When this node first stored it, ms since the epoch. */
  readonly received: number
  /** Submitted at this node. */
  readonly local: boolean
}

export interface TransferView extends EntryCommon {
  readonly kind: 'transfer'
  readonly from: string
  readonly to: string
  readonly asset: string
  /** Minor units, decimal digits. */
  readonly amount: string
  readonly memo: string
}

export interface MemberChangeView extends EntryCommon {
  readonly kind: 'member'
  readonly action: 'add' | 'remove'
  readonly member: string
  readonly name: string
}

export type EntryView = TransferView | MemberChangeView

/** `GET /api/entries?account=&asset=&status=&q=&before=&limit=`: newest first. */
export interface EntryPage {
  readonly entries: readonly EntryView[]
  /** Pass as `before` for the next page; null on the last one. */
  readonly next: number | null
}

export interface MemberView {
  readonly id: string
  /** The id as people compare it between machines, e.g. `MFRG-GZDF-MZTW`. */
  readonly shortId: string
  readonly name: string
}

/** `GET /api/status`. */
export interface StatusView {
  readonly nodeId: string
  /** The node id as people compare it between machines, e.g. `MFRG-GZDF-MZTW`. */
  readonly shortId: string
  readonly name: string
  readonly ledger: string
  readonly ledgerName: string
  readonly faultModel: FaultModel
  /** Last committed height. */
  readonly height: number
  /** The round and step of the height being decided (height + 1). */
  readonly round: number
  readonly step: Step
  /** Counts: members of the ledger, members reachable now (this node included), and needed. */
  readonly members: number
  readonly online: number
  readonly quorum: number
  readonly hasQuorum: boolean
  readonly stateHash: string
  /** Entries waiting for a block at this node. */
  readonly pending: number
  /** The last block's time (proposer's clock), ms since the epoch; null before the first. */
  readonly lastBlockTime: number | null
  /** The assets the genesis names, in its order: those whose decimals differ from the default. */
  readonly assets: readonly AssetView[]
  /** The decimals of any asset not in `assets` (amounts are minor units: 2 means cents). */
  readonly defaultDecimals: number
}

/** An asset as the genesis fixes it. */
export interface AssetView {
  /** The asset's code as entries name it, e.g. `EUR`. */
  readonly code: string
  /** Digits after the decimal point: an amount of 1234 minor units with 2 decimals is 12.34. */
  readonly decimals: number
}

export interface CommitView {
  readonly height: number
  readonly round: number
  readonly blockHash: string
  /** Validators whose precommits are in the commit. */
  readonly signers: readonly string[]
}

/** `GET /api/blocks/<height>`. */
export interface BlockView {
  readonly height: number
  readonly hash: string
  readonly round: number
  readonly prevHash: string
  readonly proposer: string
  readonly time: number
  readonly stateHash: string
  readonly entries: readonly EntryView[]
  /** The precommits that decided this block. */
  readonly commit: CommitView
  /** The previous block's commit as this block records it; null at height 1. */
  readonly lastCommit: CommitView | null
}

/** A short form for lists and events. */
export interface BlockSummary {
  readonly height: number
  readonly hash: string
  readonly round: number
  readonly proposer: string
  readonly time: number
  readonly entries: number
}

export interface BalanceView {
  readonly account: string
  readonly asset: string
  /** Minor units, decimal digits, with a leading `-` for an external account below zero. */
  readonly amount: string
  readonly decimals: number
}

/** `GET /api/peers`: one row per member (this node included) and per other connected peer. */
export interface PeerView {
  readonly id: string
  /** The id as people compare it between machines, e.g. `MFRG-GZDF-MZTW`. */
  readonly shortId: string
  readonly name: string
  readonly self: boolean
  readonly member: boolean
  readonly connected: boolean
  /** When it last connected or disconnected, ms since the epoch. */
  readonly since: number | null
  readonly latencyMs: number | null
  /** Last gossip or direct message from it, ms since the epoch. */
  readonly lastMessage: number | null
  /** The last committed height it reported (by voting on the next one); null if never heard. */
  readonly height: number | null
  /**
   * Share of the last (up to) 50 commits known here that carry its precommit, 0..1; null before
   * this node knows any commit.
   */
  readonly votedShare: number | null
  /**
   * The last (up to) 50 commits known here, oldest first: `true` where the commit carries its
   * precommit (it voted), `false` where it does not (missed). The commits are those recorded in
   * the blocks (a block carries its predecessor's), so the newest is that of the height before
   * the last committed one. `[]` for a peer that is not a validator now. A member added within
   * the window shows the commits from before its addition as missed.
   */
  readonly recentVotes: readonly boolean[]
  readonly addrs: readonly string[]
  /** Its gossipsub score here: below zero after it sent what validation rejects. */
  readonly score: number | null
}

export type VoteMark = 'block' | 'nil' | null

export interface ValidatorVotes {
  readonly validator: string
  readonly prevote: VoteMark
  readonly precommit: VoteMark
  /** The block hash it voted for, if any. */
  readonly prevoteFor: string | null
  readonly precommitFor: string | null
}

/** The first step of a round that did not complete: no proposal, no polka, or no commit. */
export type StalledStep = 'propose' | 'prevote' | 'precommit'

/** A round of a height that ended here without deciding it. */
export interface FailedRound {
  readonly round: number
  /**
   * The step this node was in when it moved on to a later round (usually `precommit`: its
   * timeouts lead there); null for a round it skipped without entering, following the others.
   */
  readonly step: Step | null
  /**
   * The first step of the round that did not complete, judged from the proposal and votes this
   * node held when it moved on: `propose` (no proposal arrived), `prevote` (no quorum of
   * prevotes for one block), `precommit` (no quorum of precommits for it).
   */
  readonly stalled: StalledStep
  /** The round's proposer (node id). */
  readonly proposer: string
  /**
   * In words, for people: `no proposal from <name> in time`, `prevotes did not reach a quorum
   * for one block (1 for a block, 1 nil, 1 not received, of 3)`, `precommits did not reach a
   * quorum (…)`, with `; the others had moved on to round N` when the node followed others
   * rather than its own timeouts; `skipped: …` for a skipped round.
   */
  readonly reason: string
}

export interface RoundRecord {
  readonly height: number
  /** The round in which the height was decided; 0 is the first. */
  readonly round: number
  readonly proposer: string
  readonly entries: number
  /** From the height's start here to its commit here. */
  readonly durationMs: number
  readonly outcome: 'committed' | 'synced'
  readonly time: number
  /**
   * The rounds before `round` that failed here, oldest first: the last 20 at most (a height
   * that failed more shows its latest). `[]` for a height learnt by sync, and for rounds failed
   * before this node last started.
   */
  readonly failed: readonly FailedRound[]
}

/** `GET /api/rounds`. */
export interface RoundsView {
  readonly height: number
  readonly round: number
  readonly step: Step
  readonly proposer: string
  readonly votes: readonly ValidatorVotes[]
  /** The last 100 heights, newest first. */
  readonly recent: readonly RoundRecord[]
  /** The rounds of `height` (being decided) that failed here so far, oldest first; the last 20. */
  readonly failed: readonly FailedRound[]
}

export type NodeEvent =
  | { readonly type: 'entry'; readonly entry: EntryView }
  | { readonly type: 'block'; readonly block: BlockSummary }
  | {
      readonly type: 'round'
      readonly height: number
      readonly round: number
      readonly step: Step
      readonly proposer: string
    }
  | { readonly type: 'peer'; readonly peer: PeerView }
  /** The machines waiting to join changed (one asked, or one was decided). */
  | { readonly type: 'join-requests'; readonly requests: readonly JoinRequestView[] }

/** What the event stream (`GET /api/events`, a WebSocket) sends: one JSON object per message. */
export type EventMessage =
  | NodeEvent
  | { readonly type: 'hello'; readonly status: StatusView }
  /** Where the machine stands: the greeting of a machine without a ledger, and each change. */
  | { readonly type: 'setup'; readonly setup: SetupView }

// --- Settings ----------------------------------------------------------------------------------

/**
 * `GET /api/settings`: what this node runs with, read-only. The stored settings (kept in the
 * data folder's database) with this run's command-line overrides (`--listen`, `--peer`,
 * `--mdns`/`--no-mdns`), and the port the API listens on. Answered by a machine without a
 * ledger too.
 */
export interface SettingsView {
  /** The machine's name as its settings hold it; `''` when none was set. */
  readonly name: string
  /** The data folder, as an absolute path. */
  readonly dataDir: string
  /** Where it was told to listen for peers (multiaddrs); a `/tcp/0` one takes any free port. */
  readonly listen: readonly string[]
  /** Where it listens now (multiaddrs, with the ports taken). */
  readonly addrs: readonly string[]
  /** Static peers, dialled at start and again when lost (multiaddrs ending in `/p2p/<id>`). */
  readonly peers: readonly string[]
  /**
   * The port the API listens on now, whatever chose it: the `apiPort` setting, `--api-port`, or,
   * when those are 0, the free port taken at this start.
   */
  readonly apiPort: number
  /** Whether it finds peers and ledgers on the LAN by mDNS. */
  readonly mdns: boolean
  readonly timing: TimingView
  /** How often each peer is pinged, for its latency and to notice it gone. */
  readonly pingIntervalMs: number
  /** A ping unanswered this long counts as failed. */
  readonly pingTimeoutMs: number
}

/** The consensus timeouts and intervals, in milliseconds (`core/consensus/timing.ts`). */
export interface TimingView {
  /** Waiting for a proposal in round 0 (Tendermint's timeoutPropose). */
  readonly proposeMs: number
  /** Waiting for more prevotes once a quorum of any prevotes is in, in round 0. */
  readonly prevoteMs: number
  /** Waiting for more precommits once a quorum of any precommits is in, in round 0. */
  readonly precommitMs: number
  /** Added to each of the three per round beyond 0, so a slow network eventually gets through. */
  readonly roundDeltaMs: number
  /** The longest any of the three grows to. */
  readonly capMs: number
  /** An empty heartbeat block after this long without entries, so liveness stays visible. */
  readonly idleMs: number
  /** Re-send of this node's own proposal and votes until the height is decided. */
  readonly rebroadcastMs: number
  /** Re-send of entries still waiting for a block. */
  readonly relayMs: number
  /** Entries received within this window leave in one gossip message. */
  readonly batchMs: number
  /** Least time between two block-sync requests to one peer, or two pushes to one laggard. */
  readonly syncRetryMs: number
}

// --- Joining -----------------------------------------------------------------------------------

/**
 * `GET /api/setup`: where this machine stands. A machine with an empty data folder holds no
 * ledger and neither votes nor stores anything until its user creates one (`POST /api/ledger`)
 * or asks to join one (`POST /api/join`); the other routes answer `409` until then.
 */
export type SetupView =
  | {
      readonly state: 'no-ledger'
      readonly machine: MachineView
      /** Ledgers whose nodes this machine can see (mDNS, or addresses it was given). */
      readonly ledgers: readonly FoundLedgerView[]
      /** The last request to join, if it was refused or denied; null otherwise. */
      readonly joining: JoiningView | null
    }
  | {
      readonly state: 'joining'
      readonly machine: MachineView
      readonly ledgers: readonly FoundLedgerView[]
      readonly joining: JoiningView
    }
  | {
      readonly state: 'member'
      readonly machine: MachineView
      readonly ledger: string
      readonly ledgerName: string
    }

export interface MachineView {
  readonly nodeId: string
  readonly shortId: string
  readonly name: string
  /** Where this machine listens for peers (give one to a machine mDNS does not reach). */
  readonly addrs: readonly string[]
}

/** A ledger seen on the LAN, as its nodes describe it to a machine outside it. */
export interface FoundLedgerView {
  readonly ledger: string
  readonly name: string
  readonly members: number
  /** Members online, as the node that answered last counts them (itself included). */
  readonly online: number
  /** When the ledger was created, ms since the epoch. */
  readonly since: number
  /** When a node of it last answered, ms since the epoch. */
  readonly seenAt: number
}

export type JoinStatus =
  /** Looking for the ledger's nodes to ask. */
  | 'asking'
  /** A member's node has listed the request; a person has to approve it there. */
  | 'pending'
  | 'denied'
  /** The members' list of waiting machines is full; the request is asked again. */
  | 'full'
  /** Approved: the ledger is being fetched. */
  | 'approved'

export interface JoiningView {
  readonly ledger: string
  readonly ledgerName: string
  readonly status: JoinStatus
  /** Why, in words, when the last answer was not `pending`; null otherwise. */
  readonly reason: string | null
  /** When this machine asked, ms since the epoch. */
  readonly since: number
}

/** `POST /api/ledger`: create a ledger with this machine as its only member. */
export interface CreateLedgerRequest {
  readonly name: string
  /** `crash` (default) or `byzantine`. */
  readonly faultModel?: FaultModel
}

/**
 * `POST /api/join`: ask to join a ledger found on the LAN (`ledger`), or the ledger of the node
 * at `addr` (a multiaddr such as `/ip4/192.168.1.20/tcp/26656`, for sites mDNS does not reach).
 */
export interface JoinLedgerRequest {
  readonly ledger?: string
  readonly addr?: string
}

/** `GET /api/join-requests` lists these; approve with `POST /api/join-requests/<id>/approve`. */
export interface JoinRequestView {
  readonly id: string
  /** Compare it with the one the joining machine shows before approving. */
  readonly shortId: string
  readonly name: string
  /** Where the request came from. */
  readonly addr: string
  readonly firstAt: number
  readonly lastAt: number
}
