import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { answerPlain } from './answer.ts';
import { UpstreamAttempt } from './attempt.ts';
import type { UpstreamCluster } from './clusters.ts';
import type { CorsPolicy } from './cors.ts';
import { modifyHeaders, type HeaderMap } from './headers.ts';
import { retriesFailure } from './retry.ts';
import type { CompiledBackend, CompiledRoute } from './route.ts';
import type { AttemptSink, UpstreamError, UpstreamRequest } from './upstream-request.ts';

/** Methods a stale kept-alive connection may be retried for without a retry policy (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Relays one request to its backend: attempts (one endpoint each, round-robin), retries on the
 * route's status codes and on connection errors (refused, reset or closed before a response; a
 * reset after the request was sent is retried too, which is unsafe for non-idempotent requests
 * and is what the route's retry policy asks for), per-attempt and whole-request timeouts (504),
 * then the chosen response streamed to the client with the route's and backend's response
 * filters. Only a body held in memory (or none) is sent again.
 */
export class Forwarding implements AttemptSink {
  readonly #res: ServerResponse;
  readonly #route: CompiledRoute;
  readonly #backend: CompiledBackend;
  readonly #cluster: UpstreamCluster;
  #request: UpstreamRequest | null = null;
  readonly #cors: CorsPolicy | null;
  readonly #origin: string;
  readonly #log: Logger;
  #attempt: UpstreamAttempt | null = null;
  #retriesLeft = 0;
  #retriesDone = 0;
  /** One retry of an idempotent request whose kept-alive connection the backend had just closed. */
  #staleRetry = false;
  #requestTimer: NodeJS.Timeout | null = null;
  #backoffTimer: NodeJS.Timeout | null = null;
  #committed = false;
  #over = false;

  constructor(
    res: ServerResponse,
    route: CompiledRoute,
    backend: CompiledBackend,
    cluster: UpstreamCluster,
    cors: { policy: CorsPolicy | null; origin: string },
    log: Logger,
  ) {
    this.#res = res;
    this.#route = route;
    this.#backend = backend;
    this.#cluster = cluster;
    this.#cors = cors.policy;
    this.#origin = cors.origin;
    this.#log = log;
  }

  /** Starts the request timeout (`requestMs`) now; call before reading the body, if any. */
  startClock(): void {
    const ms = this.#route.timeouts?.requestMs ?? 0;
    if (ms > 0) this.#requestTimer = setTimeout(Forwarding.#requestTimedOut, ms, this);
  }

  /** Whether the request is still to be answered (no timeout, client still there). */
  get pending(): boolean {
    return !this.#over;
  }

  /** Sends the request (its first attempt); only a request without a streamed body is sent again. */
  send(request: UpstreamRequest): void {
    const replayable = request.stream === null;
    this.#request = request;
    this.#retriesLeft = replayable && this.#route.retry !== null ? this.#route.retry.attempts : 0;
    this.#staleRetry = replayable && IDEMPOTENT.has(request.method);
    this.#attemptNow();
  }

  #attemptNow(): void {
    if (this.#over) return;
    const ep = this.#cluster.pick();
    if (ep === null) {
      this.#end();
      answerPlain(this.#res, 503, 'no healthy upstream');
      return;
    }
    const t = this.#route.timeouts;
    const a = new UpstreamAttempt(this, ep, t?.backendRequestMs ?? 0, t?.idleMs ?? 0);
    this.#attempt = a;
    a.start(this.#request!);
  }

  attemptResponded(a: UpstreamAttempt, status: number, headers: HeaderMap, body: Readable): void {
    if (a !== this.#attempt || this.#over) {
      a.abort();
      body.resume();
      return;
    }
    const retry = this.#route.retry;
    if (retry !== null && this.#retriesLeft > 0 && retry.codes.has(status)) {
      this.#attempt = null;
      body.resume(); // drained, so the connection goes back to the pool
      this.#retry();
      return;
    }
    this.#committed = true;
    const res = this.#res;
    let replaced: Buffer | null = null;
    try {
      if (this.#route.transform !== null && res.req !== undefined)
        this.#route.transform.response(headers, res.req);
      const route = this.#route.responseHeaders;
      for (let i = 0; i < route.length; i++) modifyHeaders(headers, route[i]);
      const own = this.#backend.responseHeaders;
      for (let i = 0; i < own.length; i++) modifyHeaders(headers, own[i]);
      if (this.#cors !== null && this.#origin !== '') this.#cors.decorate(this.#origin, headers);
      const bodies = this.#route.bodyTransform;
      if (bodies !== null) replaced = bodies.responseBody(status, headers);
      // A trailers-only gRPC answer (status in the head, no body): Node's HTTP/2 responses always
      // end with a trailers frame, so the status moves there, where clients read it.
      if (headers['grpc-status'] !== undefined && res.req?.httpVersionMajor === 2)
        moveGrpcStatus(headers, res);
      res.writeHead(status, headers);
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'gatewayapi: response head refused');
      a.abort();
      body.resume();
      this.#end();
      answerPlain(res, 502, 'invalid response from upstream');
      return;
    }
    if (replaced === null) {
      body.pipe(res);
      return;
    }
    // The backend's body is read to its end (its connection stays reusable, a failure still cuts
    // the response) and dropped; then the literal goes out.
    body.once('end', () => res.end(replaced));
    body.resume();
  }

  attemptTrailers(a: UpstreamAttempt, trailers: HeaderMap): void {
    if (a !== this.#attempt || this.#over || !this.#committed) return;
    try {
      this.#res.addTrailers(trailers);
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'gatewayapi: response trailers refused');
    }
  }

  attemptFailed(a: UpstreamAttempt, err: UpstreamError): void {
    if (a !== this.#attempt) return;
    this.#attempt = null;
    if (this.#over) return;
    this.#log.debug(
      { endpoint: a.endpoint.name, kind: err.kind, err: err.message },
      'gatewayapi: attempt failed',
    );
    if (this.#committed || err.afterResponse) {
      this.#end();
      this.#res.destroy();
      return;
    }
    if (err.kind === 'connect' && err.reusedConnection && this.#staleRetry) {
      this.#staleRetry = false;
      this.#attemptNow();
      return;
    }
    if (this.#retriesLeft > 0 && retriesFailure(this.#route.retry!, err)) {
      this.#retry();
      return;
    }
    this.#end();
    if (err.kind === 'timeout') answerPlain(this.#res, 504, 'upstream request timeout');
    else answerPlain(this.#res, 502, 'upstream connect error or disconnect/reset before headers');
  }

  /** The client went away or the response is over: nothing more happens. */
  close(): void {
    if (this.#over) return;
    this.#end();
    this.#attempt?.abort();
    this.#attempt = null;
  }

  #retry(): void {
    this.#retriesLeft--;
    this.#retriesDone++;
    const { backoffMs, backoffMaxMs } = this.#route.retry!;
    const delay = Math.min(backoffMs * 2 ** (this.#retriesDone - 1), backoffMaxMs);
    if (delay <= 0) this.#attemptNow();
    else this.#backoffTimer = setTimeout(Forwarding.#backoffDone, delay, this);
  }

  #end(): void {
    this.#over = true;
    if (this.#requestTimer !== null) clearTimeout(this.#requestTimer);
    if (this.#backoffTimer !== null) clearTimeout(this.#backoffTimer);
    this.#requestTimer = null;
    this.#backoffTimer = null;
  }

  static #backoffDone(f: Forwarding): void {
    f.#backoffTimer = null;
    f.#attemptNow();
  }

  static #requestTimedOut(f: Forwarding): void {
    f.#requestTimer = null;
    if (f.#over) return;
    const committed = f.#committed;
    f.close();
    if (committed) f.#res.destroy();
    else answerPlain(f.#res, 504, 'request timeout');
  }
}

const GRPC_STATUS_HEADERS = ['grpc-status', 'grpc-message', 'grpc-status-details-bin'];

function moveGrpcStatus(headers: HeaderMap, res: ServerResponse): void {
  const trailers: HeaderMap = Object.create(null) as HeaderMap;
  for (const name of GRPC_STATUS_HEADERS) {
    const v = headers[name];
    if (v === undefined) continue;
    trailers[name] = v;
    delete headers[name];
  }
  res.addTrailers(trailers);
}
