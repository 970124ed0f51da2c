import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { originForm } from '../../proxy/request-target.ts';
import { answerPlain } from './answer.ts';
import { hasBody, readBody, type ReadBody } from './body.ts';
import type { ClusterRegistry, UpstreamCluster } from './clusters.ts';
import { isPreflight } from './cors.ts';
import { Forwarding } from './forwarding.ts';
import { addForwardedHeaders, endToEndHeaders, modifyHeaders, type HeaderMap } from './headers.ts';
import { requestHost } from './host-table.ts';
import type { MatchInput } from './match.ts';
import type { DataPlaneMetrics } from './metrics.ts';
import { sendMirrors } from './mirror.ts';
import { isMisdirected } from './misdirected.ts';
import { answerDenial } from './policies/denial.ts';
import {
  answerExtAuthDenial,
  type ExtAuth,
  type ExtAuthCall,
  type ExtAuthDenial,
} from './policies/ext-auth.ts';
import { CompiledTrafficPolicy } from './policies/traffic-policy.ts';
import { modifiedPath, redirectLocation } from './redirect.ts';
import type { CompiledBackend, CompiledRoute } from './route.ts';
import type { PortTable } from './tables.ts';
import { UpgradeTunnel, type ClientUpgrade } from './upgrade.ts';
import { withBody, type UpstreamHead } from './upstream-request.ts';

/** What every exchange of a data plane shares. */
export interface ExchangeContext {
  readonly clusters: ClusterRegistry;
  readonly metrics: DataPlaneMetrics;
  readonly log: Logger;
  readonly maxBufferedBodyBytes: number;
}

/** The socket a request came in on. */
export interface ExchangePort {
  /** The routing table in force; an exchange keeps the one it started with. */
  readonly table: PortTable;
  requestDone(): void;
}

const EXCHANGE = Symbol('kubegate.gatewayapi.exchange');
type Tagged<T> = T & { [EXCHANGE]?: GatewayExchange };

/**
 * One client request: listener by Host (listener isolation; over HTTPS, 421 when that is not the
 * listener the connection's SNI chose), virtual host, first matching route, then the route's
 * filters (CORS preflight, redirect, header modifiers, rewrite, mirrors) and the forwarding to a
 * weighted backend, or, for a WebSocket upgrade, the tunnel to it. What the data plane answers
 * itself is plain text.
 */
export class GatewayExchange implements MatchInput {
  readonly method: string;
  readonly path: string;
  readonly #query: string;
  #params: URLSearchParams | null = null;
  readonly #ctx: ExchangeContext;
  readonly #port: ExchangePort;
  readonly #table: PortTable;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #startedAt = performance.now();
  #forwarding: Forwarding | null = null;
  /** A WebSocket upgrade request: its socket, and then its tunnel. */
  readonly #upgrade: ClientUpgrade | null;
  #tunnel: UpgradeTunnel | null = null;
  /** A TrafficPolicy's extAuth question out, and what to serve once it is allowed. */
  #extAuth: ExtAuthCall | null = null;
  #authorized: { route: CompiledRoute; host: string } | null = null;

  constructor(
    ctx: ExchangeContext,
    port: ExchangePort,
    req: IncomingMessage,
    res: ServerResponse,
    upgrade: ClientUpgrade | null = null,
  ) {
    this.#ctx = ctx;
    this.#upgrade = upgrade;
    this.#port = port;
    this.#table = port.table;
    this.#req = req;
    this.#res = res;
    this.method = req.method ?? 'GET';
    const target = originForm(req.url ?? '/');
    const q = target.indexOf('?');
    this.path = q < 0 ? target : target.slice(0, q);
    this.#query = q < 0 ? '' : target.slice(q + 1);
  }

  header(name: string): string | undefined {
    const v = this.#req.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  }

  queryParam(name: string): string | null {
    this.#params ??= new URLSearchParams(this.#query);
    return this.#params.get(name);
  }

  run(): void {
    (this.#res as Tagged<ServerResponse>)[EXCHANGE] = this;
    this.#res.once('close', GatewayExchange.#closed);
    try {
      this.#route();
    } catch (err) {
      this.#failed(err);
    }
  }

  /** HTTP/2 carries the host as `:authority` (RFC 9113 §8.3.1), HTTP/1.1 as `Host`. */
  #authority(): string | undefined {
    const h = this.#req.headers;
    return (h[':authority'] as string | undefined) ?? h.host;
  }

  #route(): void {
    const host = requestHost(this.#authority());
    const t = this.#table;
    const listener = t.listeners.lookup(host);
    if (t.protocol === 'HTTPS' && isMisdirected(t.listeners, this.#req.socket as TLSSocket, listener))
      return answerPlain(this.#res, 421, 'misdirected request: the host is not served on this connection');
    const vhost = listener?.virtualHosts.lookup(host);
    if (vhost === undefined) return answerPlain(this.#res, 404, 'no route for this host');
    const routes = vhost.routes;
    let route: CompiledRoute | null = null;
    for (let i = 0; i < routes.length; i++)
      if (routes[i].matcher.matches(this)) {
        route = routes[i];
        break;
      }
    if (route === null) return answerPlain(this.#res, 404, 'no route matches the request');
    const policy = route.trafficPolicy;
    // TrafficPolicy: the client address first; credentials after CORS preflights (browsers send none).
    const refused = policy?.admitsClient(this.#req) ?? null;
    if (refused !== null) return answerDenial(this.#res, refused);
    const preflight = route.cors !== null && isPreflight(this.method, this.#req.headers);
    const denied = preflight ? null : (policy?.authenticate(this.#req) ?? null);
    if (denied !== null) return answerDenial(this.#res, denied);
    const oidc = preflight ? null : (policy?.oidc ?? null);
    if (oidc !== null && !oidc.admits(this.#req, this.path)) {
      const t = { scheme: this.#table.scheme, authority: this.#authority() ?? '', path: this.path };
      return oidc.answer(this.#req, this.#res, { ...t, query: this.#query }, this.#ctx.log);
    }
    const extAuth = preflight ? null : (policy?.extAuth ?? null);
    if (extAuth !== null) return this.#authorize(extAuth, route, host);
    this.#serve(route, host, preflight);
  }

  /** The request the TrafficPolicy admitted: direct response, CORS, redirect, or forwarding. */
  #serve(route: CompiledRoute, host: string, preflight: boolean): void {
    if (route.directResponse !== null)
      return answerPlain(this.#res, route.directResponse.status, route.directResponse.body);
    let origin = '';
    if (route.cors !== null) {
      const h = this.#req.headers;
      if (preflight) {
        const p = route.cors.preflight(h);
        this.#res.writeHead(p.status, p.headers);
        this.#res.end();
        return;
      }
      if (h.origin !== undefined && route.cors.allows(h.origin)) origin = h.origin;
    }
    if (route.redirect !== null) return this.#redirect(route, host);
    this.#forward(route, origin);
  }

  #authorize(extAuth: ExtAuth, route: CompiledRoute, host: string): void {
    this.#authorized = { route, host };
    const target = this.#query === '' ? this.path : `${this.path}?${this.#query}`;
    const authority = this.#authority() || this.#table.address;
    const t = { target, authority, scheme: this.#table.scheme };
    this.#extAuth = extAuth.check(this.#ctx.clusters, this.#req, t, this, this.#ctx.log);
  }

  /** The extAuth service's verdict: its denial goes to the client, else the request is served. */
  extAuthDone(denial: ExtAuthDenial | null): void {
    const a = this.#authorized!;
    if (denial !== null) return answerExtAuthDenial(this.#res, denial);
    try {
      this.#serve(a.route, a.host, false);
    } catch (err) {
      this.#failed(err);
    }
  }

  #redirect(route: CompiledRoute, host: string): void {
    const t = this.#table;
    const location = redirectLocation(
      route.redirect!,
      {
        scheme: t.scheme,
        listenerPort: t.port,
        host: host || t.address,
        path: this.path,
        query: this.#query,
      },
      route.matcher.prefix,
    );
    const headers: HeaderMap = Object.create(null) as HeaderMap;
    headers.location = [location];
    headers['content-length'] = ['0'];
    route.transform?.response(headers, this.#req);
    for (const m of route.responseHeaders) modifyHeaders(headers, m);
    this.#res.writeHead(route.redirect!.statusCode, headers as OutgoingHttpHeaders);
    this.#res.end();
  }

  #forward(route: CompiledRoute, origin: string): void {
    const backend = route.pickBackend();
    if (backend === null || backend.cluster === null)
      return answerPlain(this.#res, 500, 'the route has no valid backend');
    const cluster = this.#ctx.clusters.get(backend.cluster);
    if (cluster === undefined) return answerPlain(this.#res, 500, 'the route has no valid backend');
    if (cluster.endpoints.length === 0) return answerPlain(this.#res, 503, 'no healthy upstream');
    const req = this.#req;
    const headers = endToEndHeaders(req.rawHeaders, req.headers.connection, true);
    addForwardedHeaders(headers, req.socket.remoteAddress, this.#table.scheme);
    // gRPC servers may insist on `te: trailers` (the one TE value HTTP/2 allows); it is hop-by-hop.
    if (cluster.protocol === 'h2c' && teTrailers(this.header('te'))) headers.te = ['trailers'];
    route.transform?.request(headers, req);
    for (const m of route.requestHeaders) modifyHeaders(headers, m);
    route.trafficPolicy?.stripHeaders(headers, req);
    const rewrite = route.rewrite;
    let path = this.path;
    if (rewrite?.path) path = modifiedPath(rewrite.path, path, route.matcher.prefix);
    const target = this.#query === '' ? path : `${path}?${this.#query}`;
    const authority = rewrite?.hostname ?? (this.#authority() || this.#table.address);
    const head: UpstreamHead = { method: this.method, path: target, authority, headers };
    if (this.#upgrade !== null) return this.#tunnelTo(route, backend, cluster, head);
    const limit = route.trafficPolicy?.bodyLimit ?? null;
    if (limit !== null && hasBody(req))
      return this.#forwardLimited(route, backend, cluster, head, origin, limit);
    this.#start(route, backend, cluster, origin);
    const chunk = cluster.protocol === 'http1';
    const replaced = route.bodyTransform;
    if (replaced !== null && replaced.replacesRequest) {
      req.resume(); // the client's body is read and dropped; the backend gets the literal
      return this.#send(route, backend, head, replaced.requestBody(head.headers), chunk);
    }
    if (!hasBody(req)) return this.#send(route, backend, head, NO_BODY, chunk);
    if (!route.replaysBody) return this.#send(route, backend, head, STREAMED, chunk);
    readBody(req, this.#ctx.maxBufferedBodyBytes)
      .then(
        (body) => this.#send(route, backend, head, body, chunk),
        () => this.#forwarding?.close(), // the client went away
      )
      .catch((err: unknown) => this.#failed(err));
  }

  /**
   * A TrafficPolicy's requestBodyLimit: the body is read whole (up to the limit) before anything
   * goes to the backend, so a body that turns out larger is never forwarded, not even in part.
   */
  #forwardLimited(
    route: CompiledRoute,
    backend: CompiledBackend,
    cluster: UpstreamCluster,
    head: UpstreamHead,
    origin: string,
    limit: number,
  ): void {
    const declared = route.trafficPolicy!.declaredTooLarge(this.#req);
    if (declared !== null) return answerDenial(this.#res, declared);
    readBody(this.#req, limit)
      .then(
        (body) => {
          if (!('whole' in body)) return answerDenial(this.#res, CompiledTrafficPolicy.tooLarge);
          this.#start(route, backend, cluster, origin);
          // A replaced body is still held to the limit: it was read (and is dropped) all the same.
          const replaced = route.bodyTransform;
          const sent =
            replaced !== null && replaced.replacesRequest ? replaced.requestBody(head.headers) : body;
          this.#send(route, backend, head, sent, cluster.protocol === 'http1');
        },
        () => undefined, // the client went away: nothing was sent
      )
      .catch((err: unknown) => this.#failed(err));
  }

  #start(route: CompiledRoute, backend: CompiledBackend, cluster: UpstreamCluster, origin: string): void {
    const f = new Forwarding(
      this.#res,
      route,
      backend,
      cluster,
      { policy: route.cors, origin },
      this.#ctx.log,
    );
    this.#forwarding = f;
    f.startClock();
  }

  #tunnelTo(
    route: CompiledRoute,
    backend: CompiledBackend,
    cluster: UpstreamCluster,
    head: UpstreamHead,
  ): void {
    const t = new UpgradeTunnel(this.#res, this.#upgrade!, route, backend, cluster, this.#ctx.log);
    this.#tunnel = t;
    t.start(head, this.header('upgrade') ?? 'websocket');
  }

  #failed(err: unknown): void {
    this.#ctx.log.error({ err: (err as Error).stack }, 'gatewayapi: request handling failed');
    this.#forwarding?.close();
    this.#tunnel?.close();
    answerPlain(this.#res, 500, 'internal error');
  }

  #send(
    route: CompiledRoute,
    backend: CompiledBackend,
    head: UpstreamHead,
    body: ReadBody,
    chunk: boolean,
  ): void {
    const f = this.#forwarding!;
    if (!f.pending) return;
    const request = withBody(head, body, this.#req, chunk);
    if (request.stream === null && route.mirrors.length > 0)
      sendMirrors(this.#ctx.clusters, route.mirrors, request);
    for (const m of backend.requestHeaders) modifyHeaders(head.headers, m);
    f.send(request);
  }

  static #closed(this: Tagged<ServerResponse>): void {
    const x = this[EXCHANGE]!;
    x.#forwarding?.close();
    x.#tunnel?.close();
    x.#extAuth?.abort();
    if (this.headersSent) x.#ctx.metrics.observe(x.#table.gateway, this.statusCode, x.#startedAt);
    x.#port.requestDone();
  }
}

const TE_TRAILERS = /(?:^|,)\s*trailers\s*(?:;|,|$)/i;

function teTrailers(te: string | undefined): boolean {
  return te !== undefined && TE_TRAILERS.test(te);
}

const NO_BODY: ReadBody = { whole: Buffer.alloc(0) };
const STREAMED: ReadBody = { head: [] };
