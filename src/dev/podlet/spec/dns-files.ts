import type { V1Pod } from '@kubernetes/client-node';

// The /etc/resolv.conf and /etc/hosts a kubelet gives each container (pkg/kubelet/network/dns and
// the kubelet's managed hosts file), from the pod's dnsPolicy, dnsConfig, hostname, subdomain and
// hostAliases.

export interface NodeDns {
  /** The cluster DNS server addresses (kubelet `--cluster-dns`); empty: no cluster DNS. */
  readonly clusterDNS: readonly string[];
  /** kubelet `--cluster-domain`. */
  readonly clusterDomain: string;
  /** The node's own resolv.conf text (kubelet `--resolv-conf`), for dnsPolicy Default. */
  readonly hostResolvConf: string;
}

/** The resolver's limits glibc honours (kubelet validates against the same). */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

interface Resolv {
  nameservers: string[];
  searches: string[];
  options: Map<string, string | undefined>;
}

function parseResolv(text: string): Resolv {
  const r: Resolv = { nameservers: [], searches: [], options: new Map() };
  for (const line of text.split('\n')) {
    const [key, ...fields] = line
      .replace(/[#;].*/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && fields[0]) r.nameservers.push(fields[0]);
    else if (key === 'search' || key === 'domain') r.searches = fields;
    else if (key === 'options') for (const o of fields) setOption(r.options, o);
  }
  return r;
}

function setOption(options: Map<string, string | undefined>, o: string): void {
  const i = o.indexOf(':');
  options.set(i < 0 ? o : o.slice(0, i), i < 0 ? undefined : o.slice(i + 1));
}

/**
 * The pod's resolv.conf, or null when the container keeps the node's own (dnsPolicy Default, or
 * ClusterFirst on the host network or without cluster DNS: the kubelet's fallbacks).
 */
export function podResolvConf(pod: V1Pod, node: NodeDns): string | null {
  const spec = pod.spec ?? { containers: [] };
  const ns = pod.metadata?.namespace ?? 'default';
  let policy = spec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirst' && spec.hostNetwork) policy = 'Default';
  if ((policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') && node.clusterDNS.length === 0)
    policy = 'Default';
  const host = parseResolv(node.hostResolvConf);
  let r: Resolv;
  if (policy === 'None') r = { nameservers: [], searches: [], options: new Map() };
  else if (policy === 'Default') r = host;
  else {
    const d = node.clusterDomain;
    r = {
      nameservers: [...node.clusterDNS],
      searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...host.searches],
      options: new Map([['ndots', '5']]),
    };
  }
  const extra = spec.dnsConfig;
  if (policy === 'Default' && !extra) return null;
  for (const n of extra?.nameservers ?? []) if (!r.nameservers.includes(n)) r.nameservers.push(n);
  for (const s of extra?.searches ?? []) if (!r.searches.includes(s)) r.searches.push(s);
  for (const o of extra?.options ?? []) if (o.name) r.options.set(o.name, o.value);
  const lines: string[] = [];
  const searches = [...new Set(r.searches)].slice(0, MAX_SEARCHES);
  if (searches.length) lines.push(`search ${searches.join(' ')}`);
  for (const n of r.nameservers.slice(0, MAX_NAMESERVERS)) lines.push(`nameserver ${n}`);
  if (r.options.size)
    lines.push(`options ${[...r.options].map(([k, v]) => (v === undefined ? k : `${k}:${v}`)).join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** The kubelet-managed /etc/hosts of a pod on its own network (null on the host network). */
export function podHostsFile(pod: V1Pod, podIP: string, clusterDomain: string): string | null {
  const spec = pod.spec ?? { containers: [] };
  if (spec.hostNetwork) return null;
  const hostname = spec.hostname ?? pod.metadata?.name ?? '';
  const ns = pod.metadata?.namespace ?? 'default';
  const names = spec.subdomain
    ? `${hostname}.${spec.subdomain}.${ns}.svc.${clusterDomain}\t${hostname}`
    : hostname;
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${podIP}\t${names}`,
  ];
  if (spec.hostAliases?.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of spec.hostAliases)
      if (a.ip && a.hostnames?.length) lines.push(`${a.ip}\t${a.hostnames.join('\t')}`);
  }
  return `${lines.join('\n')}\n`;
}
