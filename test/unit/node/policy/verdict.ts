// What the compiled table does with one new connection, evaluated on the PolicyPlan the table is
// written from (the forward hook's order: closed-until-programmed, egress, node, ingress). Tests
// state Kubernetes semantics against it; the kernel tests check the table does the same.
import { parseAddress, rangeContains } from '../../../../src/node/policy/address.ts';
import type { PolicyChain, PolicyPlan } from '../../../../src/node/policy/plan.ts';
import type { CompiledRule } from '../../../../src/node/policy/rule.ts';

export interface Flow {
  readonly from: string;
  readonly to: string;
  readonly protocol?: 'tcp' | 'udp' | 'icmp';
  readonly port?: number;
}

export type Verdict = 'accept' | 'refuse' | 'closed';

function ruleAllows(rule: CompiledRule, peer: bigint, family: 4 | 6, dst: bigint, flow: Flow): boolean {
  if (rule.peers !== undefined && !rule.peers.some((r) => rangeContains(r, family, peer))) return false;
  if (rule.ports === undefined) return true;
  const protocol = flow.protocol ?? 'tcp';
  const port = flow.port ?? 80;
  if (rule.ports.numeric.some((p) => p.protocol === protocol && p.first <= port && port <= p.last))
    return true;
  return (rule.ports.named ?? []).some(
    (t) =>
      t.address.family === family && t.address.value === dst && t.protocol === protocol && t.port === port,
  );
}

/** The verdict for the first packet of `flow` (addresses as text) on the node `plan` is for. */
export function verdict(plan: PolicyPlan, flow: Flow): Verdict {
  const src = parseAddress(flow.from);
  const dst = parseAddress(flow.to);
  if (src === undefined || dst === undefined) throw new Error(`bad flow ${JSON.stringify(flow)}`);
  const family = src.family;
  const local = (value: bigint): PolicyPlan['localPods'][number] | undefined =>
    plan.localPods.find((p) => p.addresses.some((a) => a.family === family && a.value === value));
  const inPodCIDR = (value: bigint): boolean => plan.podCIDRs.some((r) => rangeContains(r, family, value));
  if ((inPodCIDR(src.value) && !local(src.value)) || (inPodCIDR(dst.value) && !local(dst.value)))
    return 'closed';
  const chain = (name: string | undefined): PolicyChain | undefined =>
    plan.chains.find((c) => c.name === name);
  const egress = chain(local(src.value)?.egress);
  if (egress !== undefined && !egress.rules.some((r) => ruleAllows(r, dst.value, family, dst.value, flow)))
    return 'refuse';
  if (plan.nodeAddresses.some((a) => a.family === family && a.value === src.value)) return 'accept';
  const ingress = chain(local(dst.value)?.ingress);
  if (ingress !== undefined && !ingress.rules.some((r) => ruleAllows(r, src.value, family, dst.value, flow)))
    return 'refuse';
  return 'accept';
}
