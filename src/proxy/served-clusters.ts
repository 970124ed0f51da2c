import { createSecureContext, type SecureContext } from 'node:tls';
import { ClusterSelector } from '../cluster/cluster-selector.ts';
import type { ClusterConfig } from '../config/model.ts';
import { GatewayError } from '../errors.ts';
import { TLS_POLICY } from './tls-policy.ts';

/** The listener's own certificate and client CA: the default for no or an unknown SNI. */
export interface ListenerTLS {
  readonly cert: string;
  readonly key: string;
  readonly clientCA: string | undefined;
}

/** What a TLS handshake decided for its connection: the cluster it serves, once for all its requests. */
export interface ServedBy {
  readonly cluster: string;
  /**
   * Whether the handshake verified client certificates against that cluster's own client CA. When
   * it has none, a presented certificate is ignored (as kube-apiserver without --client-ca-file),
   * since the context then falls back to Node's default roots.
   */
  readonly clientCerts: boolean;
  /**
   * A server name the client sent that no cluster lists (it got the listener's cluster): where that
   * cluster lists hosts of its own, every request on the connection is refused, so a client that
   * asked for a cluster that is gone (or never was) is not served by another one, whatever its Host.
   */
  readonly unknownServerName?: string;
}

interface Served {
  readonly by: ServedBy;
  /** null: the server's default context (the listener's certificate). */
  readonly context: SecureContext | null;
  readonly cert: string;
  readonly key: string;
  readonly ca: string | undefined;
}

/**
 * The clusters one listener serves, by SNI: a `ClusterSelector` (the listener's cluster as the
 * default) and, per cluster that lists hosts, the `SecureContext` its handshakes get, with its
 * serving certificate (else the listener's) and its own client CA. Immutable; a configuration change
 * builds the next one, reusing the contexts whose material did not change.
 */
export class ServedClusters {
  readonly selector: ClusterSelector;
  readonly defaultBy: ServedBy;
  readonly #byCluster = new Map<string, Served>();
  readonly #default: Served;

  /** `onError`: a cluster whose material Node refuses keeps the listener's context (and is reported). */
  constructor(
    clusters: readonly ClusterConfig[],
    defaultCluster: string,
    tls: ListenerTLS,
    previous?: ServedClusters,
    onError?: (cluster: string, err: Error) => void,
  ) {
    this.selector = new ClusterSelector(
      clusters.map((c) => ({ cluster: c.name, hosts: c.hosts })),
      defaultCluster,
    );
    this.defaultBy = { cluster: defaultCluster, clientCerts: tls.clientCA !== undefined };
    this.#default = { by: this.defaultBy, context: null, cert: tls.cert, key: tls.key, ca: tls.clientCA };
    for (const c of clusters) {
      if (c.hosts.length === 0 || this.#byCluster.has(c.name)) continue;
      const m = c.material;
      const isDefault = c.name === defaultCluster;
      const cert = m.servingCert ?? tls.cert;
      const key = m.servingKey ?? tls.key;
      // The listener's client CA belongs to its default cluster (the gateway adds that cluster's
      // front-proxy CA to it); any other cluster verifies with its own, front-proxy CA included.
      const own = m.frontProxyCA === undefined ? m.clientCA : `${m.clientCA ?? ''}\n${m.frontProxyCA}`;
      const ca = isDefault ? tls.clientCA : own;
      if (isDefault && m.servingCert === undefined) {
        this.#byCluster.set(c.name, this.#default);
        continue;
      }
      const old = previous === undefined ? undefined : previous.#byCluster.get(c.name);
      if (old && old.context !== null && old.cert === cert && old.key === key && old.ca === ca) {
        this.#byCluster.set(c.name, old);
        continue;
      }
      try {
        const context = createSecureContext({ ...TLS_POLICY, cert, key, ca });
        const by = { cluster: c.name, clientCerts: ca !== undefined };
        this.#byCluster.set(c.name, { by, context, cert, key, ca });
      } catch (err) {
        onError?.(c.name, err as Error);
      }
    }
  }

  /**
   * For `SNICallback`: the cluster a server name belongs to and the context to answer with. A name
   * no cluster lists gets the listener's own certificate and cluster, as a handshake without SNI.
   */
  forServerName(serverName: string | undefined): Served {
    if (!serverName) return this.#default;
    const name = serverName.toLowerCase().replace(/\.$/, '');
    const cluster = this.selector.owner(name);
    const served = cluster === undefined ? undefined : this.#byCluster.get(cluster);
    if (served !== undefined) return served;
    if (cluster !== undefined || !this.selector.listsHosts(this.defaultBy.cluster)) return this.#default;
    return { ...this.#default, by: { ...this.defaultBy, unknownServerName: name } };
  }

  /**
   * null when a request with this Host (or `:authority`) may be served by `cluster`, the one its
   * connection chose; else the 421 Status it gets (no domain fronting across clusters).
   */
  refusal(cluster: string, host: string | undefined, unknownServerName?: string): GatewayError | null {
    if (unknownServerName !== undefined && this.selector.listsHosts(cluster))
      return new GatewayError(
        'KG_MISDIRECTED',
        'Misdirected',
        `misdirected request: the TLS server name "${unknownServerName}" is not a name of any cluster kubegate serves here; connect with the server name (SNI) of the cluster you want, e.g. kubectl --tls-server-name`,
      );
    const choice = this.selector.checkHost(cluster, host);
    if ('cluster' in choice) return null;
    const detail =
      choice.refused === 'misdirected'
        ? `host "${choice.host}" belongs to another cluster than this connection's`
        : `host "${choice.host}" is not a name of this connection's cluster`;
    return new GatewayError(
      'KG_MISDIRECTED',
      'Misdirected',
      `misdirected request: ${detail} (the TLS server name chose cluster "${cluster}"); connect with the server name (SNI) of the cluster you want, e.g. kubectl --tls-server-name`,
    );
  }
}
