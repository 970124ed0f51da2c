// NetworkPolicy for one node: Pods, Namespaces and NetworkPolicies in, the `inet kubegate-policy`
// table out (pure). See docs/node-networking.md, section "NetworkPolicy".
import type { NftTable } from '../nft/model.ts';
import { planNetworkPolicy } from './plan.ts';
import { policyTable } from './table.ts';
import type { PolicyInput, PolicyProblem } from './types.ts';

export type {
  LabelSelector,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
} from './objects.ts';
export type { PolicyInput, PolicyProblem } from './types.ts';
export { policyTableName } from './table.ts';

/** Compiles every NetworkPolicy that applies to this node's pods into one `inet` table. */
export function networkPolicyTables(input: PolicyInput): { tables: NftTable[]; problems: PolicyProblem[] } {
  const plan = planNetworkPolicy(input);
  return { tables: [policyTable(plan)], problems: [...plan.problems] };
}
