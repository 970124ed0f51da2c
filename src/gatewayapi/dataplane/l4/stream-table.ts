import type { SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type {
  StreamBackendIR,
  StreamHostIR,
  StreamListenerIR,
  StreamPortIR,
  UpstreamTLSIR,
} from '../../ir.ts';
import { HostTable } from '../host-table.ts';
import type { SecureContextCache } from '../tls-contexts.ts';

/** Where one connection (or UDP client) goes. */
export interface StreamEndpoint {
  readonly address: string;
  readonly port: number;
  /** A BackendTLSPolicy's TLS towards the backend (terminated TLSRoutes only). */
  readonly tls?: UpstreamTLSIR;
}

/**
 * The backends of one route on one listener hostname. Backends are picked by smooth weighted
 * round-robin (exact shares over any window, unlike a random pick), endpoints of a backend in turn.
 */
export class StreamTarget {
  readonly route: string;
  readonly #backends: readonly StreamBackendIR[];
  readonly #current: number[];
  readonly #next: number[];
  readonly #total: number;

  constructor(host: StreamHostIR) {
    this.route = host.route;
    this.#backends = host.backends.filter((b) => b.weight > 0);
    this.#current = this.#backends.map(() => 0);
    this.#next = this.#backends.map(() => 0);
    this.#total = this.#backends.reduce((sum, b) => sum + b.weight, 0);
  }

  /** The endpoint for a new connection; null when its share goes to an invalid or empty backend. */
  pick(): StreamEndpoint | null {
    const b = this.#backends;
    if (b.length === 0) return null;
    let best = 0;
    for (let i = 0; i < b.length; i++) {
      this.#current[i] += b[i].weight;
      if (this.#current[i] > this.#current[best]) best = i;
    }
    this.#current[best] -= this.#total;
    const endpoints = b[best].endpoints;
    if (b[best].name === null || endpoints.length === 0) return null;
    const n = this.#next[best]++ % endpoints.length;
    const tls = b[best].tls;
    return tls === undefined ? endpoints[n] : { ...endpoints[n], tls };
  }
}

/** A TLS listener ready to serve: how TLS is handled, and its targets by SNI name. */
export interface StreamListener {
  readonly name: string;
  /** Passthrough: null; Terminate: the listener's first usable certificate. */
  readonly terminate: SecureContext | null;
  readonly hosts: HostTable<StreamTarget>;
}

/** One stream socket's routing, swapped whole. */
export class StreamTable {
  readonly gateway: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: StreamPortIR['protocol'];
  /** TLS: the listeners by SNI name, most specific listener hostname first. */
  readonly #listeners = new HostTable<StreamListener>();
  /** TCP and UDP: the one route's target, if any. */
  readonly target: StreamTarget | null;

  constructor(ir: StreamPortIR, contexts: SecureContextCache, log: Logger) {
    this.gateway = ir.gateway;
    this.address = ir.address;
    this.port = ir.port;
    this.protocol = ir.protocol;
    const first = ir.listeners[0]?.hosts[0];
    this.target = ir.protocol !== 'TLS' && first !== undefined ? new StreamTarget(first) : null;
    if (ir.protocol !== 'TLS') return;
    for (const l of ir.listeners) {
      this.#listeners.add(l.hostname, compileListener(l, contexts, log, ir));
    }
  }

  /** The TLS listener and target for an SNI host name, or null: the connection is refused. */
  route(serverName: string): { listener: StreamListener; target: StreamTarget } | null {
    if (serverName === '') return null;
    const listener = this.#listeners.lookup(serverName);
    const target = listener?.hosts.lookup(serverName);
    return listener === undefined || target === undefined ? null : { listener, target };
  }
}

function compileListener(
  l: StreamListenerIR,
  contexts: SecureContextCache,
  log: Logger,
  port: StreamPortIR,
): StreamListener {
  let terminate: SecureContext | null = null;
  if (l.tls?.mode === 'Terminate') {
    try {
      terminate = contexts.serving({ certificates: l.tls.certificates }).context;
    } catch (err) {
      log.warn(
        { gateway: port.gateway, port: port.port, listener: l.name, err: (err as Error).message },
        'gatewayapi: no usable certificate for a TLS listener; its connections are refused',
      );
      return { name: l.name, terminate: null, hosts: new HostTable() };
    }
  }
  const hosts = new HostTable<StreamTarget>();
  for (const h of l.hosts) hosts.add(h.hostname, new StreamTarget(h));
  return { name: l.name, terminate, hosts };
}
