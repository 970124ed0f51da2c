import { isIPv4, isIPv6 } from 'node:net';
import type { DnsEndpointSlice, DnsService } from './objects.ts';

// The cluster's DNS zone as the Kubernetes DNS specification defines it
// (github.com/kubernetes/dns, docs/specification.md, schema version 1.1.0), built from Services and
// EndpointSlices: every name the zone holds is computed once per change, so a query is a lookup.

/** One resource record's data. */
export type ZoneRecord =
  | { readonly type: 'A' | 'AAAA' | 'CNAME' | 'PTR'; readonly data: string }
  | {
      readonly type: 'SRV';
      readonly data: {
        readonly priority: number;
        readonly weight: number;
        readonly port: number;
        readonly target: string;
      };
    };

export type Lookup =
  /** The name exists; `records` are those of the asked type (empty: NODATA). */
  | { readonly kind: 'answer'; readonly records: readonly ZoneRecord[] }
  /** The name is in the zone and does not exist. */
  | { readonly kind: 'nxdomain' }
  /** The name is not in the cluster's zones: this server is not authoritative for it. */
  | { readonly kind: 'refused' };

export interface ZoneOptions {
  /** `cluster.local` by default (kubelet's `--cluster-domain`). */
  readonly domain?: string;
}

const SERVICE_LABEL = 'kubernetes.io/service-name';

/** Lower case, no trailing dot. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export class ClusterZone {
  readonly domain: string;
  readonly #records = new Map<string, ZoneRecord[]>();
  /** Every name that exists, including empty non-terminals (`ns.svc.cluster.local`). */
  readonly #names = new Set<string>();
  readonly #reverse4 = 'in-addr.arpa';
  readonly #reverse6 = 'ip6.arpa';

  constructor(services: readonly DnsService[], slices: readonly DnsEndpointSlice[], opts: ZoneOptions = {}) {
    this.domain = canonicalName(opts.domain ?? 'cluster.local');
    this.#exists(`svc.${this.domain}`);
    this.#exists(`pod.${this.domain}`);
    const byService = new Map<string, DnsEndpointSlice[]>();
    for (const s of slices) {
      const svc = s.metadata.labels?.[SERVICE_LABEL];
      if (!svc) continue;
      const key = `${s.metadata.namespace ?? 'default'}/${svc}`;
      let list = byService.get(key);
      if (!list) byService.set(key, (list = []));
      list.push(s);
    }
    for (const svc of services) {
      const ns = svc.metadata.namespace ?? 'default';
      this.#addService(svc, byService.get(`${ns}/${svc.metadata.name}`) ?? []);
    }
  }

  /** The records of `type` at `name` (any case, with or without the trailing dot). */
  lookup(name: string, type: string): Lookup {
    const n = canonicalName(name);
    if (this.#inZone(n, this.domain)) {
      const pod = this.#podRecord(n);
      if (pod !== undefined) return { kind: 'answer', records: pod.type === type ? [pod] : [] };
    } else if (!this.#inZone(n, this.#reverse4) && !this.#inZone(n, this.#reverse6)) {
      return { kind: 'refused' };
    }
    if (!this.#names.has(n)) return { kind: 'nxdomain' };
    const all = this.#records.get(n) ?? [];
    // A CNAME answers every type (the resolver follows it).
    const cname = all.filter((r) => r.type === 'CNAME');
    return { kind: 'answer', records: cname.length ? cname : all.filter((r) => r.type === type) };
  }

  /** The zone apex this server answers SOA queries and negative answers for. */
  apexOf(name: string): string | null {
    const n = canonicalName(name);
    for (const z of [this.domain, this.#reverse4, this.#reverse6]) if (this.#inZone(n, z)) return z;
    return null;
  }

  #inZone(name: string, zone: string): boolean {
    return name === zone || name.endsWith(`.${zone}`);
  }

  #exists(name: string): void {
    // Every ancestor inside the zone exists too (an empty non-terminal answers NODATA).
    for (let n = name; n.length > 0;) {
      if (this.#names.has(n)) return;
      this.#names.add(n);
      const dot = n.indexOf('.');
      if (dot < 0) return;
      n = n.slice(dot + 1);
    }
  }

  #add(name: string, r: ZoneRecord): void {
    this.#exists(name);
    let list = this.#records.get(name);
    if (!list) this.#records.set(name, (list = []));
    if (!list.some((x) => x.type === r.type && JSON.stringify(x.data) === JSON.stringify(r.data)))
      list.push(r);
  }

  #addService(svc: DnsService, slices: readonly DnsEndpointSlice[]): void {
    const ns = svc.metadata.namespace ?? 'default';
    const name = `${svc.metadata.name}.${ns}.svc.${this.domain}`;
    const spec = svc.spec ?? {};
    this.#exists(name);
    if (spec.type === 'ExternalName') {
      if (spec.externalName) this.#add(name, { type: 'CNAME', data: canonicalName(spec.externalName) });
      return;
    }
    const clusterIPs = (spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP ?? '']).filter(
      (ip) => isIPv4(ip) || isIPv6(ip),
    );
    if (clusterIPs.length > 0) {
      for (const ip of clusterIPs) {
        this.#add(name, addressRecord(ip));
        this.#add(reverseName(ip), { type: 'PTR', data: name });
      }
      for (const p of spec.ports ?? [])
        if (p.name)
          this.#add(`_${p.name}._${(p.protocol ?? 'TCP').toLowerCase()}.${name}`, {
            type: 'SRV',
            data: { priority: 0, weight: 100, port: p.port, target: name },
          });
      return;
    }
    // Headless: the ready endpoints' addresses (all of them with publishNotReadyAddresses).
    for (const slice of slices) {
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false && !spec.publishNotReadyAddresses) continue;
        for (const ip of ep.addresses) {
          if (!isIPv4(ip) && !isIPv6(ip)) continue;
          const host = ep.hostname ? `${ep.hostname}.${name}` : `${dashed(ip)}.${name}`;
          this.#add(name, addressRecord(ip));
          this.#add(host, addressRecord(ip));
          if (ep.hostname) this.#add(reverseName(ip), { type: 'PTR', data: host });
          for (const p of slice.ports ?? [])
            if (p.name && p.port)
              this.#add(`_${p.name}._${(p.protocol ?? 'TCP').toLowerCase()}.${name}`, {
                type: 'SRV',
                data: { priority: 0, weight: 100, port: p.port, target: host },
              });
        }
      }
    }
  }

  /** `a-b-c-d.<namespace>.pod.<domain>`: the address spelled in the name (kube-dns "pods insecure"). */
  #podRecord(name: string): ZoneRecord | undefined {
    const suffix = `.pod.${this.domain}`;
    if (!name.endsWith(suffix)) return undefined;
    const labels = name.slice(0, -suffix.length).split('.');
    if (labels.length !== 2) return undefined;
    const v4 = labels[0].replaceAll('-', '.');
    if (isIPv4(v4)) return { type: 'A', data: v4 };
    const v6 = labels[0].replaceAll('-', ':');
    if (isIPv6(v6)) return { type: 'AAAA', data: v6 };
    return undefined;
  }
}

function addressRecord(ip: string): ZoneRecord {
  return { type: isIPv4(ip) ? 'A' : 'AAAA', data: ip };
}

/** An address as one DNS label: dots (v4) or colons (v6) become dashes. */
function dashed(ip: string): string {
  return ip.replaceAll(/[.:]/g, '-');
}

/** `d.c.b.a.in-addr.arpa`, or the nibble form under `ip6.arpa`. */
export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  return `${expand6(ip).split('').reverse().join('.')}.ip6.arpa`;
}

/** The 32 hex digits of an IPv6 address. */
function expand6(ip: string): string {
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups
    .map((g) => g.padStart(4, '0'))
    .join('')
    .toLowerCase();
}
