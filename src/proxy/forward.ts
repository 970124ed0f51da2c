import {
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { impersonationHeaders } from '../auth/index.ts';
import type { ClientPresence } from '../cluster/admission.ts';
import type { RulePolicy } from '../cluster/rule-policy.ts';
import type { ClusterRuntime } from '../cluster/runtime.ts';
import { GatewayError } from '../errors.ts';
import type { AccessRecord } from '../observe/access-log.ts';
import { tracer, type RequestTrace, type UpstreamCall } from '../observe/tracing.ts';
import type { Permit } from '../policy/index.ts';
import { isLongRunning, parseRequestInfo } from '../request/request-info.ts';
import type { Endpoint } from '../upstream/endpoint.ts';
import { authenticationInput } from './client-credentials.ts';
import type { Gateway } from './context.ts';
import type { ClientExchange } from './exchange.ts';
import { assertOriginForm } from './request-target.ts';
import { admitRequest, authenticateOn, type Admitted } from './stages.ts';
import { serveClusterGatewayAPI, serveFrontProxyDiscovery } from '../clustergateway/api.ts';
import { selectByPath } from '../clustergateway/select.ts';
import { listSharesOf, watchSharesOf } from '../share/index.ts';
import type { AuthenticationInput } from '../auth/index.ts';
import { connectionTokens, isDroppedRequestHeader, isDroppedResponseHeader } from './headers.ts';
import { jitteredRetryAfter, sendStatus, toGatewayError } from './status.ts';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A 404 or 429 body held back to read is at most this long (kube-apiserver's Status is far shorter). */
const MAX_HELD_BYTES = 16 * 1024;
// What kube-apiserver says when it does not serve a resource (yet): the plain-text 404 of its last
// handler (Go's http.NotFound; client-go shows it as "the server could not find the requested
// resource", and a Status with that message is taken too), and the 429 of a watch cache still
// filling. The bytes are looked for as they are: a Status in JSON, protobuf or CBOR carries its
// message as the same UTF-8. A named object that does not exist is a Status naming it: not these.
const PAGE_NOT_FOUND = Buffer.from('404 page not found');
const NOT_FOUND_RESOURCE = Buffer.from('the server could not find the requested resource');
const STORAGE_INITIALIZING = Buffer.from('storage is (re)initializing');
/** How long such a retry waits for a replica that serves the resource (see #retryNotServed). */
const NOT_SERVED_WAIT_MS = 1000;

/** One client request on its way through authenticate → route → govern → pick → forward, with its access record. */
export class ProxiedRequest implements ClientPresence {
  readonly #gw: Gateway;
  readonly #clusterName: string;
  #cluster: ClusterRuntime | null = null;
  #policy: RulePolicy | null = null;
  #permit: Permit | null = null;
  #outcomeRecorded = false;
  readonly #x: ClientExchange;
  readonly #record: AccessRecord;
  /** The request's span; null when tracing is off. */
  readonly #trace: RequestTrace | null;
  readonly #start = performance.now();
  readonly #longRunning: boolean;
  /** kubegate's own ClusterGateway API (discovery, list, get, watch, health). */
  readonly #api: boolean;
  /** Watches, logs -f, exec…: no timeout, and not waited for by graceful shutdown. */
  get longRunning(): boolean {
    return this.#longRunning;
  }
  #endpoint: Endpoint | null = null;
  /** The upstream stream whose response is being relayed. */
  #relayed: ClientHttp2Stream | null = null;
  /** A 404 or 429 read before it is relayed or retried (see notServedYet). */
  #held: {
    readonly stream: ClientHttp2Stream;
    readonly headers: IncomingHttpHeaders;
    readonly chunks: Buffer[];
    bytes: number;
  } | null = null;
  #responded = false;
  #logged = false;
  /** Served from a shared watch (src/share/) instead of forwarded. */
  #shared = false;

  /** The Host check's 421 (the Host names another cluster than the connection's SNI chose); null: none. */
  readonly #misdirected: GatewayError | null;

  /** `clusterName`: the cluster the connection's handshake chose by SNI (else the listener's). */
  constructor(gw: Gateway, clusterName: string, x: ClientExchange, misdirected: GatewayError | null = null) {
    this.#gw = gw;
    this.#clusterName = clusterName;
    this.#misdirected = misdirected;
    this.#x = x;
    const method = x.method;
    const url = x.url;
    const info = parseRequestInfo(method, url);
    this.#record = {
      method,
      uri: url,
      protocol: x.protocol,
      client: x.connection.remoteAddress,
      cluster: clusterName,
      info,
      identity: null,
      rule: null,
      upstream: null,
      status: 0,
      bytesIn: 0,
      bytesOut: 0,
      durationMs: 0,
      auditID: null,
      error: null,
      code: null,
      retried: false,
    };
    this.#api = selectByPath(gw, this.#record) === 'api';
    this.#longRunning = isLongRunning(this.#record.info);
    this.#trace = tracer === null ? null : tracer.start(this.#record, x.headers);
    x.onClose(this.#finish);
  }

  /**
   * Runs the request to its end. Synchronous as far as nothing waits (a cached identity, a free
   * slot, a ready session): a promise per stage, and its turn of the microtask queue, was a tenth
   * of what a request allocated. Every failure reaches the client as a Status (#fail).
   */
  run(): void {
    try {
      this.#begin();
    } catch (err) {
      this.#fail(toGatewayError(err));
    }
  }

  #begin(): void {
    if (this.#misdirected !== null) throw this.#misdirected;
    assertOriginForm(this.#record.uri);
    if (this.#gw.draining && isReadyz(this.#record.info.path))
      throw new GatewayError('KG_SHUTTING_DOWN', 'ServiceUnavailable', 'kubegate is shutting down', {
        retryAfter: jitteredRetryAfter(),
      });
    if (this.#api || (this.#record.cluster === this.#clusterName && this.#frontProxied())) {
      this.#settle(this.#serveOwn());
      return;
    }
    const admitted = admitRequest(
      this.#gw,
      this.#clusterName,
      this.#record,
      this.#input(),
      this.#longRunning,
      this,
      this.#trace,
    );
    if (admitted instanceof Promise) this.#settle(admitted.then((a) => this.#admitted(a)));
    else this.#admitted(admitted);
  }

  /** A request that went on asynchronously: its failure is the client's Status too. */
  #settle(p: Promise<void>): void {
    p.catch((err: unknown) => this.#fail(toGatewayError(err)));
  }

  /** kubegate's own ClusterGateway API, or what an aggregating apiserver asks of its APIService. */
  async #serveOwn(): Promise<void> {
    const x = this.#x;
    await authenticateOn(this.#gw, this.#clusterName, this.#record, this.#input(), this.#trace);
    if (this.#logged || x.gone) return;
    // An aggregating apiserver asks only for the APIService's group (and for discovery and
    // OpenAPI around it): nothing else is forwarded to the listener's cluster on its behalf.
    if (this.#api) serveClusterGatewayAPI(() => this.#gw.clusterGatewayClusters?.() ?? [], x, this.#record);
    else serveFrontProxyDiscovery(x, this.#record);
  }

  #admitted(a: Admitted): void {
    const x = this.#x;
    this.#cluster = a.cluster;
    this.#policy = a.policy;
    this.#permit = a.permit;
    if (this.#logged || x.gone) {
      this.#permit.release(); // the client left while queued
      return;
    }
    const max = this.#gw.clientLimits.maxRequestBodyBytes;
    const length = Number(x.headers['content-length']);
    if (length > max) throw tooLarge(max);
    const share = this.#policy.rule.spec.share;
    const verb = this.#record.info.verb;
    if (share !== undefined && (verb === 'watch' || (verb === 'list' && share === 'watches+lists')))
      this.#settle(this.#serveShared(share));
    else this.#forward(null);
  }

  /** A list or watch served from gateway state (src/share/) where it can be, else forwarded. */
  async #serveShared(share: string): Promise<void> {
    const x = this.#x;
    const target = () => ({
      cluster: this.#cluster!,
      subset: this.#policy!.rule.spec.upstream ?? null,
      x,
      record: this.#record,
    });
    const verb = this.#record.info.verb;
    if (share === 'watches+lists' && verb === 'list') {
      this.#shared = await listSharesOf(this.#gw).serve(target());
      if (this.#shared || this.#logged || x.gone) return;
    }
    if (share === 'watches+lists' && verb === 'watch') {
      const r = await listSharesOf(this.#gw).serveWatch(target());
      this.#shared = r === 'served';
      if (this.#shared || this.#logged || x.gone) return;
      if (r === 'forward') return this.#forward(null);
    }
    if (verb === 'watch') {
      this.#shared = await watchSharesOf(this.#gw).serve(target());
      if (this.#shared || this.#logged || x.gone) return;
    }
    this.#forward(null);
  }

  #frontProxied(): boolean {
    const c = this.#gw.cluster(this.#clusterName);
    return c !== undefined && c.authenticator.isFrontProxied(this.#x.connection.certificate);
  }

  #input(): AuthenticationInput {
    return authenticationInput(this.#x.connection, this.#x.headers.authorization, this.#x.rawHeaders);
  }

  /** Aborts when the client goes away; asked for only when the request has to queue. */
  leftSignal(): AbortSignal {
    const left = new AbortController();
    if (this.#x.gone) left.abort();
    else this.#x.onClose(() => left.abort());
    return left.signal;
  }

  /**
   * Picks an endpoint and sends the request there; a failure is the client's Status (#fail).
   * `warming`: the retry of an answer from a replica not serving the resource yet (see notServedYet).
   */
  #forward(exclude: Endpoint | null, warming = false): void {
    try {
      this.#pick(exclude, warming);
    } catch (err) {
      this.#fail(toGatewayError(err));
    }
  }

  #pick(exclude: Endpoint | null, warming: boolean): void {
    const cluster = this.#cluster!;
    const ep = cluster.upstream.pick(
      this.#longRunning,
      exclude ?? undefined,
      this.#policy!.subset ?? undefined,
      warming ? this.#record.info : undefined,
    );
    if (!ep) {
      throw new GatewayError(
        'KG_NO_HEALTHY_UPSTREAM',
        'ServiceUnavailable',
        'no healthy kube-apiserver endpoint is available',
        { retryAfter: jitteredRetryAfter() },
      );
    }
    this.#endpoint = ep;
    this.#record.upstream = ep.name;
    this.#trace?.picked(ep.name);
    const h2 = ep.pool.tryAcquire(this.#longRunning);
    if (h2 !== null) {
      this.#send(ep, h2, exclude);
      return;
    }
    this.#settle(
      ep.pool.acquire(this.#longRunning).then(
        (session) => this.#send(ep, session, exclude),
        (err: unknown) => {
          // Nothing was sent: any request may go to another endpoint, once.
          cluster.upstream.eject(ep);
          if (exclude === null) {
            this.#record.retried = true;
            return this.#forward(ep);
          }
          throw new GatewayError(
            'KG_UPSTREAM_UNREACHABLE',
            'ServiceUnavailable',
            `kube-apiserver ${ep.name} is unreachable: ${(err as Error).message}`,
            { retryAfter: jitteredRetryAfter(), cause: err },
          );
        },
      ),
    );
  }

  /** Sends the request on `h2`, a stream slot of `ep`'s taken, and relays the answer. */
  #send(ep: Endpoint, h2: ClientHttp2Session, exclude: Endpoint | null): void {
    const cluster = this.#cluster!;
    const long = this.#longRunning;
    if (long) ep.longRunning++;
    else ep.inflight++;
    ep.requests++;
    const hasBody = this.#x.hasBody;
    const headers = this.#upstreamHeaders();
    // Tracing on: the upstream continues the trace from this attempt's CLIENT span (the client's
    // own traceparent and tracestate were left out above).
    let call: UpstreamCall | null = null;
    if (this.#trace !== null) {
      const carrier: Record<string, string> = {};
      call = this.#trace.upstream(ep.name, ep.url, carrier);
      for (const name in carrier) headers.push(name, carrier[name]);
    }
    let stream: ClientHttp2Stream;
    try {
      stream = h2.request(headers, { endStream: !hasBody });
    } catch (err) {
      ep.pool.release(h2, long);
      if (long) ep.longRunning--;
      else ep.inflight--;
      call?.end(String(err));
      // The session began closing between acquire and request (its endpoint was retired by a
      // reload, e.g. a rotated upstream credential): nothing was sent, so pick again, once.
      if (exclude === null && (h2.closed || h2.destroyed)) {
        this.#record.retried = true;
        return this.#forward(ep);
      }
      throw err;
    }
    // kube-apiserver's graceful shutdown sends GOAWAY and then waits up to 60 s for open streams
    // before it exits: a relayed watch ends cleanly at once instead, so its client re-watches on
    // another replica from its last resourceVersion, and the apiserver can go.
    // A reload that retires the endpoint (a rotated upstream credential) ends its watches a few at
    // a time, through `ep.watches` (src/upstream/rewatch-pacer.ts), before its sessions close.
    if (long && this.#record.info.verb === 'watch') {
      const away = (): void => this.#upstreamGoingAway(stream, 'kube-apiserver is going away (GOAWAY)');
      const retired = (): void => this.#upstreamGoingAway(stream, 'upstream connection retired by a reload');
      h2.once('goaway', away);
      ep.watches.add(retired);
      stream.once('close', () => {
        h2.off('goaway', away);
        ep.watches.delete(retired);
      });
    }

    let timer: NodeJS.Timeout | null = null;
    const timeoutMs = cluster.requestTimeoutMs;
    if (!long && timeoutMs > 0) {
      timer = setTimeout(() => {
        this.#record.error = 'upstream timeout';
        if (!this.#responded)
          this.#fail(
            new GatewayError(
              'KG_UPSTREAM_TIMEOUT',
              'Timeout',
              `the kube-apiserver did not answer within ${timeoutMs / 1000}s`,
            ),
          );
        stream.close(constants.NGHTTP2_CANCEL);
      }, timeoutMs);
    }
    const clear = () => {
      if (timer) clearTimeout(timer);
    };

    if (hasBody) {
      const body = this.#x.body;
      const max = this.#gw.clientLimits.maxRequestBodyBytes;
      const count = (c: Buffer): void => {
        this.#record.bytesIn += c.length;
        if (this.#record.bytesIn <= max) return;
        // A chunked body (or a false Content-Length) past the limit: nothing more goes upstream,
        // and the apiserver's half-read request is cancelled.
        body.off('data', count);
        body.unpipe(stream);
        this.#fail(tooLarge(max));
        stream.close(constants.NGHTTP2_CANCEL);
      };
      body.on('data', count);
      body.pipe(stream);
    }
    this.#x.onClose(() => {
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    });

    let relayed = false;
    // `on`, not `once`, for these events of one stream, each emitted once: `once` costs a wrapper
    // and its state per listener, per request.
    stream.on('response', (headers) => {
      const status = Number(headers[':status']);
      call?.response(status);
      const info = this.#record.info;
      if (status >= 200 && status < 300) {
        if (info.isResourceRequest) ep.noteServed(info.apiGroup, info.resource);
      } else if (
        (status === 429 || (status === 404 && mayNotServeYet(ep, info.apiGroup, info.resource))) &&
        exclude === null &&
        info.isResourceRequest &&
        IDEMPOTENT.has(this.#record.method) &&
        !hasBody
      ) {
        // Held back until its body says whether the replica is still warming up (see 'end').
        this.#held = { stream, headers, chunks: [], bytes: 0 };
        stream.on('data', this.#holdChunk);
        return;
      }
      relayed = true;
      this.#relay(stream, headers);
    });
    stream.on('end', () => {
      clear();
      const held = this.#held;
      if (held !== null && held.stream === stream) {
        this.#held = null;
        const status = Number(held.headers[':status']);
        if (!this.#x.gone && notServedYet(status, held.chunks)) {
          this.#record.retried = true;
          this.#record.error = `kube-apiserver ${ep.name} is not serving ${this.#record.info.resource} yet (${status})`;
          this.#settle(this.#retryNotServed(ep, status));
          return;
        }
        stream.off('data', this.#holdChunk);
        this.#relay(stream, held.headers);
        for (const c of held.chunks) this.#relayChunk(c);
      }
      relayed ||= this.#relayed === stream;
      // The client's response ends here, not at the stream's close, which Node emits only once
      // the request's own END_STREAM write has completed (often an event-loop turn or two later).
      if (relayed) this.#endRelayed(stream);
    });
    let errored = false;
    stream.on('error', (err) => {
      errored = true;
      clear();
      this.#record.error = err.message;
      const retriable =
        !this.#responded && exclude === null && IDEMPOTENT.has(this.#record.method) && !long && !hasBody;
      if (retriable) {
        this.#record.retried = true;
        this.#forward(ep);
        return;
      }
      // Once the response is relayed, the stream's close ends it (see #endRelayed).
      if (!this.#responded) {
        this.#fail(
          new GatewayError(
            'KG_UPSTREAM_UNREACHABLE',
            'ServiceUnavailable',
            `kube-apiserver ${ep.name} failed: ${err.message}`,
            { retryAfter: jitteredRetryAfter() },
          ),
        );
      }
    });
    stream.on('close', () => {
      ep.pool.release(h2, long);
      if (long) ep.longRunning--;
      else ep.inflight--;
      clear();
      if (call !== null) call.end(resetError(stream.rstCode));
      relayed ||= this.#relayed === stream;
      if (relayed) this.#endRelayed(stream);
      // After 'error' the error handler owns the outcome (possibly a retry still in flight).
      else if (
        !errored &&
        !this.#responded &&
        stream.rstCode !== constants.NGHTTP2_NO_ERROR &&
        !this.#x.ended
      ) {
        // Closed without headers or error event (e.g. REFUSED_STREAM after GOAWAY, or CANCEL
        // when the apiserver's connection went away): nothing came back, so an idempotent
        // request may go to another endpoint, once.
        const retriable =
          exclude === null && IDEMPOTENT.has(this.#record.method) && !long && !hasBody && !this.#x.gone;
        if (retriable) {
          this.#record.retried = true;
          this.#forward(ep);
          return;
        }
        this.#fail(
          new GatewayError(
            'KG_UPSTREAM_UNREACHABLE',
            'ServiceUnavailable',
            `kube-apiserver ${ep.name} reset the stream (${stream.rstCode})`,
            { retryAfter: jitteredRetryAfter() },
          ),
        );
      }
    });
  }

  /**
   * The retry of an answer from a replica not serving the resource yet: on a replica that has
   * served it. When none has yet after a 429 (every replica is still filling its watch cache, and
   * a retry on another would most likely get the same answer), it waits for one to, up to the
   * `Retry-After` kube-apiserver gives with that 429 (1 s), then goes to another replica all the
   * same. A 404 is retried at once: it is also what every replica answers for a resource that
   * does not exist, which must not wait.
   */
  async #retryNotServed(ep: Endpoint, status: number): Promise<void> {
    const upstream = this.#cluster!.upstream;
    const subset = this.#policy!.subset ?? undefined;
    const until = performance.now() + NOT_SERVED_WAIT_MS;
    while (
      status === 429 &&
      !upstream.hasServed(this.#record.info, ep, subset) &&
      performance.now() < until &&
      !this.#x.gone
    )
      await sleep(25);
    if (this.#x.gone) return;
    return this.#forward(ep, true);
  }

  /** Relays the upstream's answer on `stream` to the client from its head on. */
  #relay(stream: ClientHttp2Stream, headers: IncomingHttpHeaders): void {
    this.#relayed = stream;
    this.#respond(headers);
    // Relayed by hand rather than piped (pipe adds and removes nine listeners per request).
    // Ended on `end` if whole, else on `close`: see #endRelayed.
    stream.on('data', this.#relayChunk);
  }

  // The relay's listeners are made on first use: a watch served from a shared one (src/share/)
  // never relays, and what its request holds is held for as long as the watch is open.
  #holdFn: ((chunk: Buffer) => void) | null = null;
  #relayFn: ((chunk: Buffer) => void) | null = null;
  #resumeFn: (() => void) | null = null;

  get #holdChunk(): (chunk: Buffer) => void {
    return (this.#holdFn ??= (chunk) => this.#hold(chunk));
  }

  get #relayChunk(): (chunk: Buffer) => void {
    return (this.#relayFn ??= (chunk) => this.#relayOne(chunk));
  }

  get #resumeRelay(): () => void {
    return (this.#resumeFn ??= () => this.#relayed?.resume());
  }

  /** A chunk of a held-back 404 or 429; one too long to be kube-apiserver's Status is relayed. */
  #hold(chunk: Buffer): void {
    const held = this.#held!;
    held.chunks.push(chunk);
    held.bytes += chunk.length;
    if (held.bytes <= MAX_HELD_BYTES) return;
    this.#held = null;
    held.stream.off('data', this.#holdChunk);
    this.#relay(held.stream, held.headers);
    for (const c of held.chunks) this.#relayChunk(c);
  }

  /**
   * The upstream request's headers as a flat list (name, value, …): Node takes it as it is, where
   * an object is copied again into one of its own.
   */
  #upstreamHeaders(): string[] {
    const x = this.#x;
    const out = [
      ':method',
      this.#record.method,
      ':path',
      this.#record.uri,
      ':authority',
      this.#endpoint!.url.host,
    ];
    const hop = connectionTokens(x.headers.connection);
    const traced = this.#trace !== null;
    let forwardedFor = '';
    const raw = x.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (isDroppedRequestHeader(name) || hop?.has(name)) continue;
      if (traced && (name === 'traceparent' || name === 'tracestate')) continue;
      if (name === 'x-forwarded-for') {
        // Repeated lines joined as Node joins an array value.
        forwardedFor = forwardedFor === '' ? raw[i + 1] : `${forwardedFor},${raw[i + 1]}`;
        continue;
      }
      out.push(name, raw[i + 1]);
    }
    const client = this.#record.client;
    if (client) forwardedFor = forwardedFor === '' ? client : `${forwardedFor}, ${client}`;
    if (forwardedFor !== '') out.push('x-forwarded-for', forwardedFor);
    const token = this.#cluster!.upstreamToken;
    if (token) out.push('authorization', `Bearer ${token}`);
    // One header line per group (one HTTP/2 header field each): a group name may contain a comma,
    // so joining values would change who the apiserver thinks the user is.
    for (const [k, v] of impersonationHeaders(this.#record.identity!)) out.push(k, v);
    return out;
  }

  #respond(headers: IncomingHttpHeaders): void {
    this.#responded = true;
    // HTTP/1.1's counterpart of GOAWAY: no further request on this connection while draining.
    if (this.#gw.draining) this.#x.closeConnection();
    const status = Number(headers[':status']);
    this.#record.status = status;
    this.#outcome(status < 500);
    const audit = headers['audit-id'];
    this.#record.auditID = typeof audit === 'string' ? audit : null;
    const out: string[] = [];
    for (const name in headers) {
      if (isDroppedResponseHeader(name)) continue;
      const v = headers[name];
      if (Array.isArray(v)) for (const line of v) out.push(name, line);
      else if (v !== undefined) out.push(name, String(v));
    }
    // Watches and logs -f: send headers now so the client sees the stream open.
    this.#x.respond(status, out, this.#longRunning);
  }

  /** Tells the breaker how the upstream did, once, for requests the breaker admitted. */
  #outcome(ok: boolean): void {
    if (this.#outcomeRecorded || this.#permit === null || this.#policy!.exempt) return;
    this.#outcomeRecorded = true;
    this.#cluster!.breaker.record({ ok, latencyMs: performance.now() - this.#start });
  }

  /**
   * Ends a relayed response when its upstream stream closes. A whole body ends normally. A cut one
   * (the apiserver died or reset the stream) is destroyed so the client cannot take it for whole,
   * except a watch: a watch may end at any time and every client resumes from its last
   * resourceVersion after a clean end, whereas some treat a broken one as fatal (the
   * @kubernetes/client-node informer stops for good). An event cut in half is not lost: the client
   * never saw its resourceVersion, so it is sent again.
   */
  #endRelayed(stream: ClientHttp2Stream): void {
    const x = this.#x;
    if (x.ended || x.gone) return;
    // Node ends the readable side also when the session dies under the stream; it closes the
    // stream (with the reset code) before that end, so a stream still open at its end got END_STREAM.
    if (stream.readableEnded && (!stream.closed || stream.rstCode === constants.NGHTTP2_NO_ERROR)) {
      x.end();
      return;
    }
    this.#record.error ??= `kube-apiserver closed the stream (${stream.rstCode})`;
    if (this.#record.info.verb === 'watch') x.end();
    else x.destroy();
  }

  /**
   * Graceful shutdown: a relayed watch ends as if its apiserver had ended it, so its client resumes
   * from its last resourceVersion (see #endRelayed); anything else still open is cut.
   */
  shutdown(): void {
    const x = this.#x;
    if (x.ended || x.gone) return;
    this.#record.error ??= 'kubegate is shutting down';
    if (this.#shared) x.end();
    else if (this.#record.info.verb === 'watch' && this.#relayed !== null) {
      this.#relayed.off('data', this.#relayChunk);
      x.end();
    } else x.destroy();
  }

  /**
   * The upstream sent GOAWAY under a relayed watch, or its connection was retired: end it as the
   * apiserver would (see #endRelayed).
   */
  #upstreamGoingAway(stream: ClientHttp2Stream, why: string): void {
    const x = this.#x;
    if (this.#relayed !== stream || x.ended || x.gone) return;
    this.#record.error ??= why;
    stream.off('data', this.#relayChunk);
    x.end();
    stream.close(constants.NGHTTP2_CANCEL);
  }

  /** One chunk of the upstream's answer to the client, pausing the upstream while the client lags. */
  #relayOne(chunk: Buffer): void {
    this.#record.bytesOut += chunk.length;
    const x = this.#x;
    if (x.gone || x.ended) return;
    if (!x.write(chunk)) {
      this.#relayed!.pause();
      x.onDrain(this.#resumeRelay);
    }
  }

  #fail(err: GatewayError): void {
    this.#record.code ??= err.code;
    if (this.#record.error === null)
      this.#record.error = err.code === 'KG_INTERNAL' ? `${err.message}: ${String(err.cause)}` : err.message;
    if (
      this.#endpoint !== null &&
      (err.code === 'KG_UPSTREAM_TIMEOUT' || err.code === 'KG_UPSTREAM_UNREACHABLE')
    )
      this.#outcome(false);
    if (this.#responded || this.#x.headersSent) {
      this.#x.destroy();
      return;
    }
    this.#responded = true;
    this.#record.status = err.status;
    sendStatus(this.#x, err);
  }

  readonly #finish = (): void => {
    if (this.#logged) return;
    this.#logged = true;
    this.#permit?.release();
    this.#record.durationMs = performance.now() - this.#start;
    if (this.#record.status === 0) this.#record.status = this.#x.status;
    this.#trace?.end(this.#record);
    this.#gw.accessLog.write(this.#record);
  };
}

function tooLarge(max: number): GatewayError {
  return new GatewayError(
    'KG_REQUEST_TOO_LARGE',
    'RequestEntityTooLarge',
    `the request body is larger than kubegate's limit of ${max} bytes (clientLimits.maxRequestBodyBytes)`,
  );
}

/**
 * Whether a 404 or 429 says the replica does not serve the resource yet (just after a CRD is
 * created, each apiserver starts serving it on its own, within ~100 ms), rather than that a named
 * object does not exist (a 404 naming it) or that the client is throttled (a 429 of API Priority
 * and Fairness): such a request is retried on a replica that has served the resource.
 */
function notServedYet(status: number, chunks: readonly Buffer[]): boolean {
  const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  if (status === 429) return body.includes(STORAGE_INITIALIZING);
  return body.includes(PAGE_NOT_FOUND) || body.includes(NOT_FOUND_RESOURCE);
}

/**
 * Whether a 404 from `ep` may be a replica that does not serve the resource yet: one of a group
 * that can appear at run time (CRDs and aggregated APIs have a dot in their group; the core group
 * and the dotless built-in ones are served from the start), which this replica has not served.
 * Otherwise a 404 "page not found" is the answer for the path itself (e.g. one with `..`), relayed.
 */
function mayNotServeYet(ep: Endpoint, group: string, resource: string): boolean {
  return group.includes('.') && !ep.serves(group, resource);
}

function isReadyz(path: string): boolean {
  return path === '/readyz' || path.startsWith('/readyz/');
}

/** An upstream stream's reset code as a trace error. CANCEL is the gateway's own (client gone, timeout). */
function resetError(rst: number): string | null {
  return rst === constants.NGHTTP2_NO_ERROR || rst === constants.NGHTTP2_CANCEL
    ? null
    : `stream reset (${rst})`;
}
