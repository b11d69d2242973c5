/** A replica that is the only member of its ledger: it decides alone, inside `submit`. */
import type { SyncedBlock } from '../../../core/consensus/messages.ts'
import { Replica, type ReplicaEffect } from '../../../core/consensus/replica.ts'
import { LAN_TIMING } from '../../../core/consensus/timing.ts'
import { Verifier } from '../../../core/ledger/crypto.ts'
import { keypairs, makeGenesis } from '../ledger/helpers.ts'

/** Started at time 0; `carry` keeps the committed blocks so block sync can serve them. */
export function loneReplica() {
  const [kp] = keypairs(1)
  const chain = new Map<number, SyncedBlock>()
  const replica = new Replica({
    keypair: kp!,
    genesis: makeGenesis([kp!]),
    timing: LAN_TIMING,
    verifier: new Verifier(),
    chain: { block: (h) => chain.get(h) ?? null },
  })
  const carry = (effects: readonly ReplicaEffect[]) => {
    for (const e of effects) {
      if (e.type === 'persist-block')
        chain.set(e.block.header.height, { block: e.block, commit: e.commit })
    }
    return effects
  }
  carry(replica.start(0))
  return { replica, carry }
}
