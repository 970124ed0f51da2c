import { createHash } from 'node:crypto';
import type { NftChain, NftSet, NftTable } from '../nft/model.ts';
import type { ServiceEndpoint } from './endpoints.ts';
import type { Family } from './family.ts';
import type { Generator } from './schedulers.ts';

/** The name of the Service proxy's tables (`ip kubegate-proxy`, `ip6 kubegate-proxy`). */
export const PROXY_TABLE = 'kubegate-proxy';

/** The packet mark bit that asks `nat-postrouting` to masquerade (kube-proxy's value). */
export const MASQUERADE_MARK = '0x4000';

/**
 * Who a service address serves: `cluster` (ClusterIP: masquerade only sources outside the pod
 * CIDRs), `external` (NodePort, externalIPs, LoadBalancer: masquerade, so replies come back here),
 * `local` (externalTrafficPolicy Local: local endpoints only, source address kept).
 */
export type Traffic = 'cluster' | 'external' | 'local';

/** One address a Service port answers on, and what it sends to. */
export interface ServiceAddress {
  readonly ip: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly traffic: Traffic;
  readonly endpoints: readonly ServiceEndpoint[];
  /** The endpoint index of every slot (from the scheduler). */
  readonly slots: readonly number[];
  readonly generator: Generator;
  /** ClientIP session affinity timeout (seconds), if the Service asks for it. */
  readonly affinitySeconds?: number;
}

const SEED = '0x6b676174'; // "kgat": any constant; a different seed per node would break nothing

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/**
 * Builds one family's `kubegate-proxy` table. Per-service state is map elements: `service-ips`
 * (a verdict map from `daddr . l4proto . dport` to a chain shared by every service with the same
 * masquerade rule and slot count), `endpoints-tcp`/`-udp` (`daddr . l4proto . dport . slot` → `addr . port`),
 * `no-endpoint-services` (→ reject). Only ClientIP affinity needs chains of its own (see docs).
 */
export class ProxyTableBuilder {
  readonly #f: Family;
  readonly #hasClusterCIDRs: boolean;
  readonly #clusterCIDRs: string[];
  readonly #serviceIPs = new Map<string, string>();
  readonly #noEndpoints = new Map<string, string>();
  readonly #endpoints = { tcp: new Map<string, string>(), udp: new Map<string, string>() };
  readonly #hairpin = new Set<string>();
  readonly #chains = new Map<string, string[]>();
  readonly #affinitySets = new Map<string, number>();

  constructor(family: Family, clusterCIDRs: readonly string[]) {
    this.#f = family;
    this.#clusterCIDRs = [...new Set(clusterCIDRs)].sort();
    this.#hasClusterCIDRs = this.#clusterCIDRs.length > 0;
  }

  /** Marks `ip` as an endpoint on this node (its hairpin traffic is masqueraded). */
  localEndpoint(ip: string): void {
    this.#hairpin.add(`${ip} . ${ip}`);
  }

  add(a: ServiceAddress): void {
    const key = `${a.ip} . ${a.protocol} . ${a.port}`;
    if (a.endpoints.length === 0) {
      this.#noEndpoints.set(key, 'goto reject-service');
      return;
    }
    if (a.affinitySeconds !== undefined) {
      this.#serviceIPs.set(key, `goto ${this.#affinityChain(a)}`);
      return;
    }
    const chain = `lb-${a.traffic}-${a.generator}-${a.slots.length}`;
    if (!this.#chains.has(chain))
      this.#chains.set(chain, [...this.#masquerade(a.traffic), this.#dnat(a, 'tcp'), this.#dnat(a, 'udp')]);
    this.#serviceIPs.set(key, `goto ${chain}`);
    a.slots.forEach((ep, slot) => {
      const e = a.endpoints[ep]!;
      this.#endpoints[a.protocol].set(`${key} . ${slot}`, `${e.ip} . ${e.port}`);
    });
  }

  #masquerade(traffic: Traffic): string[] {
    const mark = `meta mark set meta mark or ${MASQUERADE_MARK}`;
    if (traffic === 'external') return [mark];
    if (traffic === 'cluster' && this.#hasClusterCIDRs)
      return [`${this.#f.expr} saddr != @cluster-cidrs ${mark}`];
    return [];
  }

  #dnat(a: ServiceAddress, protocol: 'tcp' | 'udp'): string {
    const x = this.#f.expr;
    const n = a.slots.length;
    const pick = {
      inc: `numgen inc mod ${n}`,
      random: `numgen random mod ${n}`,
      src: `jhash ${x} saddr mod ${n} seed ${SEED}`,
      srcport: `jhash ${x} saddr . th sport mod ${n} seed ${SEED}`,
      dst: `jhash ${x} daddr mod ${n} seed ${SEED}`,
    }[a.generator];
    return `meta l4proto ${protocol} dnat ${x} to ${x} daddr . meta l4proto . th dport . ${pick} map @endpoints-${protocol}`;
  }

  /**
   * ClientIP affinity, kube-proxy's way: a chain per service address, a chain and a timeout set per
   * endpoint. The set remembers clients (`update` refreshes the timeout); a remembered client goes
   * back to its endpoint, a new one is spread at random. nft cannot carry the original destination
   * port into postrouting as a typed map key, so a map-element form of this is not possible here.
   */
  #affinityChain(a: ServiceAddress): string {
    const x = this.#f.expr;
    const h = shortHash(`${a.ip}|${a.protocol}|${a.port}`);
    const name = `aff-${h}`;
    const rules = [...this.#masquerade(a.traffic)];
    const picks: string[] = [];
    a.endpoints.forEach((e, i) => {
      const chain = `${name}-${shortHash(`${e.ip}:${e.port}`)}`;
      const set = `${chain}-t${a.affinitySeconds}`;
      this.#affinitySets.set(set, a.affinitySeconds!);
      rules.push(`${x} saddr @${set} goto ${chain}`);
      picks.push(`${i} : goto ${chain}`);
      this.#chains.set(chain, [
        `update @${set} { ${x} saddr }`,
        `meta l4proto ${a.protocol} dnat ${x} to ${this.#f.hostPort(e.ip, e.port)}`,
      ]);
    });
    rules.push(`numgen random mod ${a.endpoints.length} vmap { ${picks.join(', ')} }`);
    this.#chains.set(name, rules);
    return name;
  }

  build(): NftTable {
    const f = this.#f;
    const x = f.expr;
    const key = `${f.addrType} . inet_proto . inet_service`;
    // Insertion order is already deterministic (Services sorted by namespace/name, endpoints sorted):
    // no sort of 30,000 keys per sync.
    const entries = (m: Map<string, string>): [string, string][] => [...m.entries()];
    const sets: NftSet[] = [
      { name: 'cluster-cidrs', key: f.addrType, flags: ['interval'], elements: this.#clusterCIDRs },
      { name: 'service-ips', key, value: 'verdict', elements: entries(this.#serviceIPs) },
      { name: 'no-endpoint-services', key, value: 'verdict', elements: entries(this.#noEndpoints) },
      // One map per protocol: the value's `tcp dport` / `udp dport` makes nft add that protocol as a
      // dependency of the lookup, and `th dport` (protocol-free) cannot be used: nft 1.0.6 cannot
      // re-read a typeof map whose value says `ip daddr . th dport` ("conflicting protocols"), so a
      // later transaction adding a rule that names the map would fail.
      ...(['tcp', 'udp'] as const).map((p): NftSet => ({
        name: `endpoints-${p}`,
        key: `${x} daddr . meta l4proto . th dport . numgen inc mod 1`,
        typeof: true,
        value: `${x} daddr . ${p} dport`,
        elements: entries(this.#endpoints[p]),
      })),
      { name: 'hairpin', key: `${f.addrType} . ${f.addrType}`, elements: [...this.#hairpin].sort() },
    ];
    for (const [name, seconds] of [...this.#affinitySets.entries()].sort())
      sets.push({
        name,
        key: `${x} saddr`,
        typeof: true,
        flags: ['dynamic', 'timeout'],
        timeoutSeconds: seconds,
        elements: [],
      });
    // Before routing: a ClusterIP is often not routable on the node at all, and a packet dropped by
    // routing would answer "network unreachable" instead of the reject.
    const filter = (hook: 'prerouting' | 'output'): NftChain => ({
      name: `filter-${hook}`,
      hook: { type: 'filter', hook, priority: -110 },
      rules: ['ct state new jump service-endpoints'],
    });
    const nat = (hook: 'prerouting' | 'output'): NftChain => ({
      name: `nat-${hook}`,
      hook: { type: 'nat', hook, priority: -100 },
      rules: ['jump services'],
    });
    const chains: NftChain[] = [
      nat('prerouting'),
      nat('output'),
      {
        name: 'nat-postrouting',
        hook: { type: 'nat', hook: 'postrouting', priority: 100 },
        rules: [
          `meta mark & ${MASQUERADE_MARK} == ${MASQUERADE_MARK} meta mark set meta mark xor ${MASQUERADE_MARK} masquerade fully-random`,
          `ct status dnat ${x} saddr . ${x} daddr @hairpin masquerade fully-random`,
        ],
      },
      { name: 'services', rules: [`${x} daddr . meta l4proto . th dport vmap @service-ips`] },
      filter('prerouting'),
      filter('output'),
      {
        name: 'service-endpoints',
        rules: [`${x} daddr . meta l4proto . th dport vmap @no-endpoint-services`],
      },
      { name: 'reject-service', rules: ['meta l4proto tcp reject with tcp reset', 'reject'] },
      ...[...this.#chains.entries()]
        .sort((p, q) => (p[0] < q[0] ? -1 : 1))
        .map(([name, rules]) => ({ name, rules })),
    ];
    return { family: f.table, name: PROXY_TABLE, chains, sets };
  }
}
