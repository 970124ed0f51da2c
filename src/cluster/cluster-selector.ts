import { isIP } from 'node:net';

/** The host names one cluster answers to: exact (`a.kubegate.test`) or `*.example` (one label). */
export interface ClusterHosts {
  readonly cluster: string;
  readonly hosts: readonly string[];
}

/** What the cluster stage decided: the cluster, or why the request is refused. */
export type ClusterChoice =
  { readonly cluster: string } | { readonly refused: 'misdirected' | 'unknown-host'; readonly host: string };

/** Lower case, no port, no brackets, no trailing dot; `undefined` for an unparsable Host. */
export function hostName(header: string): string | undefined {
  let h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    const rest = h.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    h = h.slice(1, end);
    return isIP(h) === 6 ? h : undefined;
  }
  const colon = h.indexOf(':');
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(h.slice(colon + 1))) return undefined;
    h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h === '' ? undefined : h;
}

/**
 * The cluster stage: picks the cluster by the TLS server name (SNI) and refuses a Host that belongs
 * to another cluster, so one connection cannot front for a second cluster. SNI never carries IP
 * literals (RFC 6066 §3), so a Host that is an IP literal names no cluster and is accepted for the
 * SNI's cluster: that is `kubectl --tls-server-name` dialling 127.0.0.1. A cluster that lists hosts
 * answers to those only (and IP literals); one without (a single-cluster configuration) to any name
 * no other cluster claims. So a name whose cluster was removed, whose handshake now falls back to
 * the listener's cluster, is refused rather than served by the wrong cluster.
 */
export class ClusterSelector {
  readonly #exact = new Map<string, string>();
  readonly #wildcard = new Map<string, string>();
  /** Clusters that list hosts of their own: a Host of no cluster is refused on them. */
  readonly #strict = new Set<string>();
  readonly #default: string | undefined;

  /**
   * `defaultCluster`: served without SNI or for an unknown SNI; none means such handshakes fail.
   * A name listed by two clusters belongs to the first (configuration validation rejects that
   * within one source; across sources the file's come first).
   */
  constructor(clusters: readonly ClusterHosts[], defaultCluster?: string) {
    for (const c of clusters)
      for (const raw of c.hosts) {
        const h = raw.toLowerCase();
        const map = h.startsWith('*.') ? this.#wildcard : this.#exact;
        const key = h.startsWith('*.') ? h.slice(2) : h;
        if (!map.has(key)) map.set(key, c.cluster);
        this.#strict.add(c.cluster);
      }
    this.#default = defaultCluster;
  }

  /** Whether the cluster lists hosts of its own (and so answers to those only). */
  listsHosts(cluster: string): boolean {
    return this.#strict.has(cluster);
  }

  /** The cluster a host name belongs to: exact names win over `*.` patterns. */
  owner(name: string): string | undefined {
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.#wildcard.get(name.slice(dot + 1)) : undefined;
  }

  /** The cluster whose certificate a handshake gets. */
  forServerName(serverName: string | undefined): string | undefined {
    if (!serverName) return this.#default;
    return this.owner(serverName.toLowerCase().replace(/\.$/, '')) ?? this.#default;
  }

  /** The cluster of a request: by SNI, then checked against the Host (or `:authority`). */
  select(serverName: string | undefined, host: string | undefined): ClusterChoice {
    const cluster = this.forServerName(serverName);
    if (cluster === undefined) {
      const name = host === undefined ? undefined : hostName(host);
      return { refused: 'unknown-host', host: name ?? '' };
    }
    return this.checkHost(cluster, host);
  }

  /** Whether a request with this Host may be served by `cluster`, the one its connection (SNI) chose. */
  checkHost(cluster: string, host: string | undefined): ClusterChoice {
    if (host === undefined) return { cluster };
    const name = hostName(host);
    // An unparsable Host names no cluster either: fine where any name is, refused where hosts are listed.
    if (name === undefined)
      return this.#strict.has(cluster) ? { refused: 'unknown-host', host } : { cluster };
    if (isIP(name) !== 0) return { cluster };
    const owner = this.owner(name);
    if (owner === cluster) return { cluster };
    if (owner === undefined)
      return this.#strict.has(cluster) ? { refused: 'unknown-host', host: name } : { cluster };
    return { refused: 'misdirected', host: name };
  }
}
