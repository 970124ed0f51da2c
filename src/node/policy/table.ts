// Writes a PolicyPlan as the `inet kubegate-policy` table. Per-pod state lives in set and map
// elements (which pod is isolated by which chain, who the peers are); chains exist per distinct
// combination of policies, so a pod coming or going changes elements only.
import type { NftChain, NftSet, NftTable } from '../nft/model.ts';
import { formatAddress, rangeToElements, type IPFamily } from './address.ts';
import type { PolicyChain, PolicyPlan } from './plan.ts';
import type { CompiledRule } from './rule.ts';

export const policyTableName = 'kubegate-policy';

const ip = (f: IPFamily): string => (f === 4 ? 'ip' : 'ip6');
const addrType = (f: IPFamily): string => (f === 4 ? 'ipv4_addr' : 'ipv6_addr');
const v = (f: IPFamily): string => `v${f}`;

/** Reply and related traffic of an allowed connection passes without a policy lookup. */
const established = 'ct state established,related accept';
/** IPv6 neighbour discovery between pods is not traffic a policy speaks about. */
const neighbourDiscovery =
  'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept';
/**
 * Refused traffic is rejected, not dropped, so a client fails at once rather than after its timeout.
 * ICMP administratively-prohibited for TCP too: a TCP reset built from a Service connection carries
 * the endpoint's address (it is not reverse-NATed) and the client ignores it, while the ICMP error
 * is translated back and fails `connect()` at once (EHOSTUNREACH).
 */
const refuse = ['reject with icmpx admin-prohibited'];

/** nft keeps at most 128 bytes of a comment. */
const commentText = (text: string): string => (text.length <= 120 ? text : `${text.slice(0, 117)}...`);

type SetsByName = Map<string, NftSet>;

function ruleLines(
  rule: CompiledRule,
  direction: PolicyChain['direction'],
  families: readonly IPFamily[],
  sets: SetsByName,
): string[] {
  const verdict = direction === 'ingress' ? 'accept' : 'return';
  const peerSide = direction === 'ingress' ? 'saddr' : 'daddr';
  const comment = `comment ${JSON.stringify(commentText(rule.comment))}`;
  const tag = direction === 'ingress' ? 'from' : 'to';
  const out: string[] = [];
  const peerMatch = (f: IPFamily): string => {
    if (rule.peers === undefined) return '';
    const name = `${rule.id}-${tag}-${v(f)}`;
    if (!sets.has(name)) {
      sets.set(name, {
        name,
        key: addrType(f),
        flags: ['interval'],
        elements: rule.peers.filter((r) => r.family === f).flatMap(rangeToElements),
        comment: commentText(`${rule.comment} peers`),
      });
    }
    return `${ip(f)} ${peerSide} @${name} `;
  };
  const ports = rule.ports;
  if (ports === undefined) {
    if (rule.peers === undefined) return [`${verdict} ${comment}`];
    return families.map((f) => `${peerMatch(f)}${verdict} ${comment}`);
  }
  if (ports.numeric.length > 0) {
    const elements = ports.numeric.map(
      (p) => `${p.protocol} . ${p.first === p.last ? p.first : `${p.first}-${p.last}`}`,
    );
    const match = `meta l4proto . th dport { ${elements.join(', ')} }`;
    if (rule.peers === undefined) out.push(`${match} ${verdict} ${comment}`);
    else for (const f of families) out.push(`${peerMatch(f)}${match} ${verdict} ${comment}`);
  }
  if (ports.named !== undefined) {
    for (const f of families) {
      const name = `${rule.id}-ports-${v(f)}`;
      const elements = ports.named
        .filter((t) => t.address.family === f)
        .map((t) => `${formatAddress(f, t.address.value)} . ${t.protocol} . ${t.port}`);
      sets.set(name, {
        name,
        key: `${addrType(f)} . inet_proto . inet_service`,
        elements: [...new Set(elements)].sort(),
        comment: commentText(`${rule.comment} named ports`),
      });
      out.push(`${peerMatch(f)}${ip(f)} daddr . meta l4proto . th dport @${name} ${verdict} ${comment}`);
    }
  }
  return out;
}

function policyChain(chain: PolicyChain, families: readonly IPFamily[], sets: SetsByName): NftChain {
  const rules = chain.rules.flatMap((r) => ruleLines(r, chain.direction, families, sets));
  return { name: chain.name, rules: [...rules, ...refuse] };
}

const sortedPairs = (pairs: [string, string][] | undefined): [string, string][] =>
  [...(pairs ?? [])].sort((a, b) => a[0].localeCompare(b[0]));

/** The `inet kubegate-policy` table for a plan. */
export function policyTable(plan: PolicyPlan): NftTable {
  const families = plan.families;
  const sets: NftSet[] = [];
  const known = new Map<IPFamily, string[]>(families.map((f) => [f, []]));
  const maps = {
    ingress: new Map<IPFamily, [string, string][]>(),
    egress: new Map<IPFamily, [string, string][]>(),
  };
  for (const pod of plan.localPods) {
    for (const a of pod.addresses) {
      known.get(a.family)?.push(a.text);
      for (const direction of ['ingress', 'egress'] as const) {
        const chain = pod[direction];
        if (chain === undefined) continue;
        const list = maps[direction].get(a.family) ?? [];
        list.push([a.text, `jump ${chain}`]);
        maps[direction].set(a.family, list);
      }
    }
  }
  for (const f of families) {
    sets.push(
      {
        name: `known-pods-${v(f)}`,
        key: addrType(f),
        elements: [...new Set(known.get(f))].sort(),
        comment: 'the pods of this node that policy is programmed for',
      },
      {
        name: `pod-cidrs-${v(f)}`,
        key: addrType(f),
        flags: ['interval'],
        elements: plan.podCIDRs.filter((r) => r.family === f).flatMap(rangeToElements),
        comment: 'addresses of this node pods: closed until programmed',
      },
      {
        name: `node-ips-${v(f)}`,
        key: addrType(f),
        elements: plan.nodeAddresses.filter((a) => a.family === f).map((a) => a.text),
      },
      {
        name: `ingress-${v(f)}`,
        key: addrType(f),
        value: 'verdict',
        elements: sortedPairs(maps.ingress.get(f)),
      },
      {
        name: `egress-${v(f)}`,
        key: addrType(f),
        value: 'verdict',
        elements: sortedPairs(maps.egress.get(f)),
      },
    );
  }
  const ruleSets: SetsByName = new Map();
  const chains = plan.chains.map((c) => policyChain(c, families, ruleSets));
  sets.push(...ruleSets.values());
  const has6 = families.includes(6);
  const closedSource = (f: IPFamily): string =>
    `${ip(f)} saddr @pod-cidrs-${v(f)} ${ip(f)} saddr != @known-pods-${v(f)} drop`;
  const forward: string[] = [established];
  if (has6) forward.push(neighbourDiscovery);
  for (const f of families) {
    forward.push(
      closedSource(f),
      `${ip(f)} daddr @pod-cidrs-${v(f)} ${ip(f)} daddr != @known-pods-${v(f)} drop`,
    );
  }
  // Egress first, entered by `jump` and left by `return` on allow, so the ingress check of a peer
  // on this same node still runs (a `goto` would end the walk at the egress verdict).
  for (const f of families) forward.push(`${ip(f)} saddr vmap @egress-${v(f)}`);
  for (const f of families) forward.push(`${ip(f)} saddr @node-ips-${v(f)} accept`);
  for (const f of families) forward.push(`${ip(f)} daddr vmap @ingress-${v(f)}`);
  // Traffic from a pod to its own node (input) is that pod's egress too.
  const input: string[] = [established, 'iif "lo" accept'];
  if (has6) input.push(neighbourDiscovery);
  for (const f of families) input.push(closedSource(f));
  for (const f of families) input.push(`${ip(f)} saddr vmap @egress-${v(f)}`);
  return {
    family: 'inet',
    name: policyTableName,
    sets,
    chains: [
      {
        name: 'forward',
        hook: { type: 'filter', hook: 'forward', priority: 0, policy: 'accept' },
        rules: forward,
      },
      { name: 'input', hook: { type: 'filter', hook: 'input', priority: 0, policy: 'accept' }, rules: input },
      ...chains,
    ],
  };
}
