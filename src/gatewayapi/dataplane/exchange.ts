import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { originForm } from '../../proxy/request-target.ts';
import { answerPlain } from './answer.ts';
import { hasBody, readBody, type ReadBody } from './body.ts';
import type { ClusterRegistry } from './clusters.ts';
import { isPreflight } from './cors.ts';
import { Forwarding } from './forwarding.ts';
import { addForwardedHeaders, endToEndHeaders, modifyHeaders, type HeaderMap } from './headers.ts';
import { requestHost } from './host-table.ts';
import type { MatchInput } from './match.ts';
import type { DataPlaneMetrics } from './metrics.ts';
import { sendMirrors } from './mirror.ts';
import { modifiedPath, redirectLocation } from './redirect.ts';
import type { CompiledBackend, CompiledRoute } from './route.ts';
import type { PortTable } from './tables.ts';
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
 * One client request: listener by Host (listener isolation), virtual host, first matching route,
 * then the route's filters (CORS preflight, redirect, header modifiers, rewrite, mirrors) and the
 * forwarding to a weighted backend. What the data plane answers itself is plain text.
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

  constructor(ctx: ExchangeContext, port: ExchangePort, req: IncomingMessage, res: ServerResponse) {
    this.#ctx = ctx;
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

  #route(): void {
    const host = requestHost(this.#req.headers.host);
    const listener = this.#table.listeners.lookup(host);
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
    if (route.directResponse !== null)
      return answerPlain(this.#res, route.directResponse.status, route.directResponse.body);
    let origin = '';
    if (route.cors !== null) {
      const h = this.#req.headers;
      if (isPreflight(this.method, h)) {
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
    for (const m of route.requestHeaders) modifyHeaders(headers, m);
    const rewrite = route.rewrite;
    let path = this.path;
    if (rewrite?.path) path = modifiedPath(rewrite.path, path, route.matcher.prefix);
    const target = this.#query === '' ? path : `${path}?${this.#query}`;
    const authority = rewrite?.hostname ?? (req.headers.host || this.#table.address);
    const head: UpstreamHead = { method: this.method, path: target, authority, headers };
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
    const chunk = cluster.protocol === 'http1';
    if (!hasBody(req)) return this.#send(route, backend, head, NO_BODY, chunk);
    if (!route.replaysBody) return this.#send(route, backend, head, STREAMED, chunk);
    readBody(req, this.#ctx.maxBufferedBodyBytes)
      .then(
        (body) => this.#send(route, backend, head, body, chunk),
        () => this.#forwarding?.close(), // the client went away
      )
      .catch((err: unknown) => this.#failed(err));
  }

  #failed(err: unknown): void {
    this.#ctx.log.error({ err: (err as Error).stack }, 'gatewayapi: request handling failed');
    this.#forwarding?.close();
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
    if (this.headersSent) x.#ctx.metrics.observe(x.#table.gateway, this.statusCode, x.#startedAt);
    x.#port.requestDone();
  }
}

const NO_BODY: ReadBody = { whole: Buffer.alloc(0) };
const STREAMED: ReadBody = { head: [] };
