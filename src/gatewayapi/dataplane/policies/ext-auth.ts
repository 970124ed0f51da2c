import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ExtAuthIR } from '../../ir.ts';
import { answerPlain } from '../answer.ts';
import { UpstreamAttempt } from '../attempt.ts';
import type { ClusterRegistry, UpstreamEndpoint } from '../clusters.ts';
import { isGrpcRequest } from '../grpc-status.ts';
import type { HeaderMap } from '../headers.ts';
import type { AttemptSink, UpstreamError, UpstreamRequest } from '../upstream-request.ts';
import { plain } from './ip-filter.ts';

/** The most of a denial's body passed to the client; the rest is cut off. */
const MAX_DENIAL_BODY = 64 * 1024;
/** The headers of a denial passed to the client (besides the status and body). */
const DENIAL_HEADERS = ['www-authenticate', 'location', 'set-cookie', 'content-type'] as const;
const CALL = Symbol('kubegate.gatewayapi.ext-auth');
type Tagged<T> = T & { [CALL]?: ExtAuthCall };

/** What the ext-auth service said no with, to pass to the client. */
export interface ExtAuthDenial {
  readonly status: number;
  readonly headers: HeaderMap;
  readonly body: Buffer;
}

// Envoy's ext_authz answers 403 (its `status_on_error` default) when the service cannot be asked.
const UNAVAILABLE: ExtAuthDenial = {
  status: 403,
  headers: { 'content-type': ['text/plain; charset=utf-8'] },
  body: Buffer.from('forbidden: the authorization service did not answer\n'),
};

/** Who waits for a verdict: `denial` null lets the request through. Never told after `abort`. */
export interface ExtAuthWaiter {
  extAuthDone(denial: ExtAuthDenial | null): void;
}

/** The request as the client sent it, for the `x-forwarded-*` headers and the service's path. */
export interface ExtAuthTarget {
  /** Origin-form path and query. */
  readonly target: string;
  readonly authority: string;
  readonly scheme: string;
}

/**
 * External authorization over HTTP (as Envoy's ext_authz in HTTP mode): the request's method,
 * path (behind `pathPrefix`), the allowed headers and `x-forwarded-*` go to a Service port,
 * without the body. A 2xx answer lets the request through with `headersToBackend` copied from it;
 * any other answer goes to the client (status, capped body, challenge/redirect/cookie headers);
 * no answer within the timeout is a 403, or lets the request through with `failOpen`.
 */
export class ExtAuth {
  readonly ir: ExtAuthIR;
  /** The headers each allowed request gets from the service's answer, until it is forwarded. */
  readonly admitted = new WeakMap<IncomingMessage, readonly (readonly [string, string])[]>();

  constructor(ir: ExtAuthIR) {
    this.ir = ir;
  }

  /** Asks the service about `req`; `waiter` hears the verdict (possibly before this returns). */
  check(
    clusters: ClusterRegistry,
    req: IncomingMessage,
    t: ExtAuthTarget,
    waiter: ExtAuthWaiter,
    log: Logger,
  ): ExtAuthCall {
    const call = new ExtAuthCall(this, req, waiter, log);
    const ep = this.ir.cluster === null ? null : (clusters.get(this.ir.cluster)?.pick() ?? null);
    if (ep === null) {
      call.failed(this.ir.cluster === null ? 'no valid backendRef' : 'no ready endpoint');
      return call;
    }
    const h = req.headers;
    const headers: HeaderMap = Object.create(null) as HeaderMap;
    for (const name of this.ir.allowedHeaders) {
      const v = h[name];
      if (v !== undefined) headers[name] = typeof v === 'string' ? [v] : [...v];
    }
    headers['x-forwarded-host'] = [t.authority];
    headers['x-forwarded-uri'] = [t.target];
    headers['x-forwarded-method'] = [req.method ?? 'GET'];
    headers['x-forwarded-proto'] = [t.scheme];
    const address = req.socket.remoteAddress;
    if (address !== undefined) headers['x-forwarded-for'] = [plain(address)[0]];
    call.start(ep, {
      method: req.method ?? 'GET',
      path: `${this.ir.pathPrefix}${t.target}`,
      authority: t.authority,
      headers,
      body: null,
      stream: null,
    });
    return call;
  }

  /** Removes a client's own copy of every `headersToBackend` header and adds the service's. */
  forward(headers: HeaderMap, req: IncomingMessage): void {
    for (const name of this.ir.headersToBackend) delete headers[name];
    for (const [name, v] of this.admitted.get(req) ?? []) (headers[name] ??= []).push(v);
  }
}

/** One question to the ext-auth service; reports to its waiter once, unless aborted. */
export class ExtAuthCall implements AttemptSink {
  readonly #auth: ExtAuth;
  readonly #req: IncomingMessage;
  readonly #waiter: ExtAuthWaiter;
  readonly #log: Logger;
  #attempt: UpstreamAttempt | null = null;
  #done = false;
  #status = 0;
  #headers: HeaderMap | null = null;
  readonly #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(auth: ExtAuth, req: IncomingMessage, waiter: ExtAuthWaiter, log: Logger) {
    this.#auth = auth;
    this.#req = req;
    this.#waiter = waiter;
    this.#log = log;
  }

  start(ep: UpstreamEndpoint, r: UpstreamRequest): void {
    const a = new UpstreamAttempt(this, ep, this.#auth.ir.timeoutMs);
    this.#attempt = a;
    a.start(r);
  }

  /** The client went away: no verdict is wanted. */
  abort(): void {
    this.#done = true;
    this.#attempt?.abort();
  }

  attemptResponded(_a: UpstreamAttempt, status: number, headers: HeaderMap, body: Readable): void {
    if (this.#done || status < 200 || status >= 300) {
      if (this.#done) return void body.resume();
      this.#status = status;
      this.#headers = headers;
      (body as Tagged<Readable>)[CALL] = this;
      body.on('data', ExtAuthCall.#data);
      body.on('end', ExtAuthCall.#end);
      return;
    }
    // Allowed: the answer's body is not needed (it drains, so the connection can be reused).
    body.resume();
    const copied: [string, string][] = [];
    for (const name of this.#auth.ir.headersToBackend)
      for (const v of headers[name] ?? []) copied.push([name, v]);
    if (copied.length > 0) this.#auth.admitted.set(this.#req, copied);
    this.#report(null);
  }

  attemptTrailers(): void {}

  attemptFailed(_a: UpstreamAttempt, err: UpstreamError): void {
    this.failed(err.kind === 'timeout' ? 'timed out' : err.message);
  }

  /** The service could not be asked, or gave no whole answer: 403, or through with failOpen. */
  failed(why: string): void {
    if (this.#done) return;
    const ir = this.#auth.ir;
    this.#log.warn(
      { cluster: ir.cluster, failOpen: ir.failOpen },
      `gatewayapi: extAuth service did not answer: ${why}`,
    );
    this.#report(ir.failOpen ? null : UNAVAILABLE);
  }

  #report(denial: ExtAuthDenial | null): void {
    if (this.#done) return;
    this.#done = true;
    this.#waiter.extAuthDone(denial);
  }

  #denial(): ExtAuthDenial {
    const from = this.#headers!;
    const headers: HeaderMap = Object.create(null) as HeaderMap;
    for (const name of DENIAL_HEADERS) if (from[name] !== undefined) headers[name] = from[name];
    return { status: this.#status, headers, body: Buffer.concat(this.#chunks, this.#bytes) };
  }

  static #data(this: Tagged<Readable>, chunk: Buffer): void {
    const c = this[CALL]!;
    if (c.#done) return;
    const room = MAX_DENIAL_BODY - c.#bytes;
    c.#chunks.push(chunk.length <= room ? chunk : chunk.subarray(0, room));
    c.#bytes += Math.min(chunk.length, room);
    if (c.#bytes < MAX_DENIAL_BODY) return;
    // The cap is reached: answer with what is here and stop reading.
    c.#report(c.#denial());
    c.#attempt?.abort();
  }

  static #end(this: Tagged<Readable>): void {
    const c = this[CALL]!;
    if (!c.#done) c.#report(c.#denial());
  }
}

/** Answers with the service's denial (a gRPC request gets the matching grpc-status instead). */
export function answerExtAuthDenial(res: ServerResponse, d: ExtAuthDenial): void {
  const req = (res as ServerResponse & { req?: IncomingMessage }).req;
  if (res.headersSent || (req !== undefined && isGrpcRequest(req.headers['content-type'])))
    return answerPlain(res, d.status, 'denied by the authorization service');
  if (res.destroyed || res.writableEnded) return;
  const empty = d.status === 204 || d.status === 304;
  const headers: Record<string, string | string[] | number> = { ...d.headers };
  headers['content-length'] = empty ? 0 : d.body.length;
  res.writeHead(d.status, headers);
  res.end(empty ? undefined : d.body);
}
