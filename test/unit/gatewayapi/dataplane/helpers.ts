import {
  createServer as createHttp,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createNet, type AddressInfo } from 'node:net';
import { pino } from 'pino';
import type {
  BackendIR,
  ClusterIR,
  DataPlaneIR,
  FilterIR,
  ListenerIR,
  MatchIR,
  PortIR,
  RouteIR,
  TrafficPolicyIR,
  VirtualHostIR,
} from '../../../../src/gatewayapi/ir.ts';

export const silent = pino({ level: 'silent' });

/** What an echo backend saw, as it reflects it. */
export interface Echoed {
  server: string;
  method: string;
  path: string;
  host: string;
  headers: Record<string, string | string[]>;
  /** Header lines as received, for repeated names. */
  rawHeaders: string[];
  body: string;
}

/** An echo backend: reflects each request as JSON; `handle` may answer first (return true). */
export interface Echo {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  readonly seen: Echoed[];
  close(): Promise<void>;
}

export async function startEcho(
  name: string,
  handle?: (req: IncomingMessage, res: ServerResponse, body: string) => boolean,
): Promise<Echo> {
  const seen: Echoed[] = [];
  const server = createHttp((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const e: Echoed = {
        server: name,
        method: req.method ?? '',
        path: req.url ?? '',
        host: req.headers.host ?? '',
        headers: req.headers as Record<string, string | string[]>,
        rawHeaders: req.rawHeaders,
        body,
      };
      seen.push(e);
      if (handle?.(req, res, body)) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(e));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    server,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const s = createNet();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  /** The echo, when a backend answered. */
  echo: Echoed | null;
}

/** One HTTP/1.1 request to the data plane on its own connection. */
export function send(
  port: number,
  opts: {
    method?: string;
    path?: string;
    host?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Sends the body in 16 KiB writes without a length (chunked). */
    chunked?: boolean;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.host !== undefined) headers.host = opts.host;
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          const json = String(res.headers['content-type']).startsWith('application/json');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            echo: json ? (JSON.parse(body) as Echoed) : null,
          });
        });
      },
    );
    req.on('error', reject);
    if (opts.chunked === true && opts.body !== undefined) {
      for (let i = 0; i < opts.body.length; i += 16384) req.write(opts.body.slice(i, i + 16384));
      req.end();
    } else req.end(opts.body);
  });
}

// IR builders: each takes what a test cares about and fills in the rest.

export function match(m: Partial<MatchIR> = {}): MatchIR {
  return { path: { type: 'PathPrefix', value: '/' }, method: null, headers: [], queryParams: [], ...m };
}

export function backend(cluster: string | null, b: Partial<BackendIR> = {}): BackendIR {
  return { cluster, weight: 1, filters: [], ...b };
}

export function route(id: string, r: Partial<RouteIR> = {}): RouteIR {
  return {
    id,
    ruleName: null,
    match: match(),
    filters: [] as FilterIR[],
    backends: [],
    directResponse: null,
    timeouts: null,
    retry: null,
    ...r,
  };
}

export function vhost(hostname: string, routes: RouteIR[]): VirtualHostIR {
  return { hostname, routes };
}

export function listener(name: string, hostname: string | null, virtualHosts: VirtualHostIR[]): ListenerIR {
  return { name, hostname, tls: null, virtualHosts };
}

export function httpPort(port: number, listeners: ListenerIR[], gateway = 'default/gw'): PortIR {
  return { gateway, address: '127.0.0.1', port, protocol: 'HTTP', listeners };
}

export function cluster(name: string, ports: number[], protocol: ClusterIR['protocol'] = 'http1'): ClusterIR {
  return { name, protocol, endpoints: ports.map((port) => ({ address: '127.0.0.1', port })) };
}

/** An IR of one HTTP port with one catch-all listener and virtual host serving `routes`. */
export function simpleIR(port: number, routes: RouteIR[], clusters: ClusterIR[]): DataPlaneIR {
  return {
    ports: [httpPort(port, [listener('http', null, [vhost('*', routes)])])],
    clusters: Object.fromEntries(clusters.map((c) => [c.name, c])),
  };
}

/** A TrafficPolicy's IR with the checks that are always present off; `p` sets the rest. */
export function trafficPolicy(p: Partial<TrafficPolicyIR>): TrafficPolicyIR {
  return {
    policies: ['default/p'],
    ipFilter: null,
    requestBodyLimit: null,
    basicAuth: null,
    apiKeyAuth: null,
    ...p,
  };
}
