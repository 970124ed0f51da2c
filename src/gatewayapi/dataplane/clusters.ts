import { Agent } from 'node:http';
import { Agent as TLSAgent } from 'node:https';
import { RoundRobinBalancer, type Candidate } from '../../upstream/balancers/index.ts';
import { SessionPool } from '../../upstream/session-pool.ts';
import type { ClusterIR, UpstreamTLSIR } from '../ir.ts';
import { upstreamTLSOptions, UpstreamTLSRefused, type UpstreamTLSOptions } from './upstream-tls.ts';

/** HTTP/2 PINGs on idle h2c sessions, to find dead ones. */
const H2C_PING_MS = 30_000;

/**
 * One endpoint of a cluster and its connections: a keep-alive Agent (HTTP/1.1) or one reused
 * HTTP/2 session (h2c). An endpoint that leaves its cluster is retired: its connections close
 * when the requests still using them are done.
 */
export class UpstreamEndpoint implements Candidate {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly agent: Agent | null;
  readonly sessions: SessionPool | null;
  /** BackendTLSPolicy: how connections verify the backend; null for plain text. */
  readonly tls: UpstreamTLSOptions | null;
  /** Set when the policy leaves no way to verify the backend: every attempt fails at once. */
  readonly refused: UpstreamTLSRefused | null;
  inflight = 0;
  readonly longRunning = 0;
  #retired = false;

  constructor(address: string, port: number, protocol: ClusterIR['protocol'], tls?: UpstreamTLSIR) {
    this.address = address;
    this.port = port;
    this.name = endpointName(address, port);
    let options: UpstreamTLSOptions | null = null;
    let refused: UpstreamTLSRefused | null = null;
    if (tls !== undefined)
      try {
        options = upstreamTLSOptions(tls);
      } catch (err) {
        if (!(err instanceof UpstreamTLSRefused)) throw err;
        refused = err;
      }
    this.tls = options;
    this.refused = refused;
    if (protocol === 'h2c' && options !== null) {
      // HTTP/2 over TLS, negotiated by ALPN (node:http2 offers h2 for an https: origin).
      this.agent = null;
      this.sessions = new SessionPool(new URL(`https://${this.name}`), options, {
        pingIntervalMs: H2C_PING_MS,
        maxSessions: 1,
      });
    } else if (options !== null) {
      this.agent = new TLSAgent({ keepAlive: true, scheduling: 'lifo', ...options });
      this.sessions = null;
    } else if (protocol === 'h2c') {
      this.agent = null;
      // An http: origin makes node:http2 speak h2c with prior knowledge; the TLS options go unused.
      this.sessions = new SessionPool(
        new URL(`http://${this.name}`),
        { ca: '' },
        {
          pingIntervalMs: H2C_PING_MS,
          maxSessions: 1,
        },
      );
    } else {
      this.agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
      this.sessions = null;
    }
  }

  /** Counts a request (or mirror) that uses the endpoint. */
  acquire(): void {
    this.inflight++;
  }

  /** Ends what `acquire` counted; closes the connections of a retired endpoint once idle. */
  release(): void {
    this.inflight--;
    if (this.#retired && this.inflight === 0) this.#close();
  }

  retire(): void {
    this.#retired = true;
    if (this.inflight === 0) this.#close();
  }

  /** Cuts the endpoint's connections now, whatever uses them. */
  destroy(): void {
    this.#retired = true;
    this.agent?.destroy();
    this.sessions?.destroy();
  }

  #close(): void {
    this.agent?.destroy();
    this.sessions?.close();
  }
}

/** A backend Service port: its endpoints, picked round-robin. */
export class UpstreamCluster {
  readonly name: string;
  readonly protocol: ClusterIR['protocol'];
  /** The BackendTLSPolicy's TLS as JSON ('' for none): a change makes a new cluster. */
  readonly tlsKey: string;
  endpoints: readonly UpstreamEndpoint[] = [];
  readonly #balancer = new RoundRobinBalancer();

  constructor(name: string, protocol: ClusterIR['protocol'], tlsKey = '') {
    this.name = name;
    this.protocol = protocol;
    this.tlsKey = tlsKey;
  }

  /** The next endpoint; null when the cluster has none (503). */
  pick(): UpstreamEndpoint | null {
    const e = this.endpoints;
    return e.length === 0 ? null : this.#balancer.pick(e);
  }
}

/**
 * The clusters of the IR in force. A cluster whose name (and protocol) persists across applies
 * keeps its object, its round-robin position and the connection pools of the endpoints it keeps.
 */
export class ClusterRegistry {
  #clusters = new Map<string, UpstreamCluster>();

  get(name: string): UpstreamCluster | undefined {
    return this.#clusters.get(name);
  }

  /** Takes in the IR's clusters; endpoints and clusters that are gone are retired. */
  update(clusters: Readonly<Record<string, ClusterIR>>): void {
    const next = new Map<string, UpstreamCluster>();
    for (const name of Object.keys(clusters)) {
      const c = clusters[name];
      let cluster = this.#clusters.get(name);
      const tlsKey = c.tls === undefined ? '' : JSON.stringify(c.tls);
      if (cluster !== undefined && (cluster.protocol !== c.protocol || cluster.tlsKey !== tlsKey))
        cluster = undefined;
      const known = new Map<string, UpstreamEndpoint>();
      if (cluster === undefined) cluster = new UpstreamCluster(name, c.protocol, tlsKey);
      else for (const e of cluster.endpoints) known.set(e.name, e);
      const endpoints: UpstreamEndpoint[] = [];
      const seen = new Set<string>();
      for (const ep of c.endpoints) {
        const id = endpointName(ep.address, ep.port);
        if (seen.has(id)) continue;
        seen.add(id);
        const kept = known.get(id);
        if (kept !== undefined) known.delete(id);
        endpoints.push(kept ?? new UpstreamEndpoint(ep.address, ep.port, c.protocol, c.tls));
      }
      for (const gone of known.values()) gone.retire();
      cluster.endpoints = endpoints;
      next.set(name, cluster);
    }
    for (const [name, old] of this.#clusters)
      if (next.get(name) !== old) for (const e of old.endpoints) e.retire();
    this.#clusters = next;
  }

  /** Cuts every connection (mirrors and requests still out included). */
  close(): void {
    for (const c of this.#clusters.values()) for (const e of c.endpoints) e.destroy();
    this.#clusters = new Map();
  }
}

/** The `host:port` name of an endpoint (IPv6 in brackets). */
function endpointName(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}
