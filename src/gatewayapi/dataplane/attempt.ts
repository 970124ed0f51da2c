import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import type { Readable } from 'node:stream';
import type { UpstreamEndpoint } from './clusters.ts';
import { endToEndHeaders, headersOfH2 } from './headers.ts';
import { UpstreamError, type AttemptSink, type UpstreamRequest } from './upstream-request.ts';

const ATTEMPT = Symbol('kubegate.gatewayapi.attempt');
type Tagged<T> = T & { [ATTEMPT]?: UpstreamAttempt };

/**
 * One request to one endpoint over HTTP/1.1 (the endpoint's keep-alive Agent) or h2c (its
 * session), with an optional timeout that covers everything until the response body has been
 * received, and an optional idle timeout (nothing received for that long). Listeners find the attempt through a symbol on the Node object, not through closures.
 */
export class UpstreamAttempt {
  readonly endpoint: UpstreamEndpoint;
  readonly #sink: AttemptSink;
  #h1: ClientRequest | null = null;
  #h2: ClientHttp2Stream | null = null;
  #session: ClientHttp2Session | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #idleMs: number;
  #responded = false;
  /** No more reports: finished, failed or aborted. */
  #done = false;

  constructor(sink: AttemptSink, endpoint: UpstreamEndpoint, timeoutMs: number, idleMs = 0) {
    this.#sink = sink;
    this.#idleMs = idleMs;
    this.endpoint = endpoint;
    endpoint.acquire();
    if (timeoutMs > 0) this.#timer = setTimeout(UpstreamAttempt.#timedOut, timeoutMs, this).unref();
  }

  start(r: UpstreamRequest): void {
    const refused = this.endpoint.refused;
    if (refused !== null) {
      this.#fail(new UpstreamError('connect', refused.message, { afterResponse: false, cause: refused }));
      return;
    }
    if (this.endpoint.agent === null) {
      void this.#startH2(r);
      return;
    }
    try {
      this.#startH1(r);
    } catch (err) {
      // Node refuses the head (a header value a filter made invalid): reported like a failed connect.
      this.#fail(new UpstreamError('connect', (err as Error).message, { afterResponse: false, cause: err }));
    }
  }

  /** Stops the attempt without a report (the exchange moved on). */
  abort(): void {
    if (this.#done) return;
    this.#finish();
    this.#h1?.destroy();
    this.#h2?.close(constants.NGHTTP2_CANCEL);
  }

  #startH1(r: UpstreamRequest): void {
    const ep = this.endpoint;
    const headers: Record<string, string | string[]> = r.headers;
    headers.host = r.authority;
    // With a BackendTLSPolicy the endpoint's Agent is an https one, which node:http refuses.
    const send = ep.tls === null ? httpRequest : httpsRequest;
    const req: Tagged<ClientRequest> = send({
      agent: ep.agent!,
      host: ep.address,
      port: ep.port,
      method: r.method,
      path: r.path,
      headers,
      setHost: false,
    });
    req[ATTEMPT] = this;
    this.#h1 = req;
    req.on('response', UpstreamAttempt.#h1Response);
    req.on('error', UpstreamAttempt.#h1Error);
    if (this.#idleMs > 0) {
      // The socket's idle timer; the Agent puts its own back when the socket returns to the pool.
      req.setTimeout(this.#idleMs);
      req.on('timeout', UpstreamAttempt.#idle);
    }
    sendBody(req, r);
  }

  async #startH2(r: UpstreamRequest): Promise<void> {
    const pool = this.endpoint.sessions!;
    let session: ClientHttp2Session;
    try {
      session = await pool.acquire();
    } catch (err) {
      this.#fail(new UpstreamError('connect', (err as Error).message, { afterResponse: false, cause: err }));
      return;
    }
    if (this.#done) {
      pool.release(session);
      return;
    }
    this.#session = session;
    const headers: OutgoingHttpHeaders = r.headers;
    headers[':method'] = r.method;
    headers[':path'] = r.path;
    headers[':scheme'] = this.endpoint.tls === null ? 'http' : 'https';
    headers[':authority'] = r.authority;
    let stream: Tagged<ClientHttp2Stream>;
    try {
      stream = session.request(headers, {
        endStream: r.stream === null && (r.body === null || r.body.length === 0),
      });
    } catch (err) {
      pool.release(session);
      this.#session = null;
      this.#fail(new UpstreamError('connect', (err as Error).message, { afterResponse: false, cause: err }));
      return;
    }
    stream[ATTEMPT] = this;
    this.#h2 = stream;
    stream.on('response', UpstreamAttempt.#h2Response);
    stream.on('error', UpstreamAttempt.#h2Error);
    stream.once('close', UpstreamAttempt.#h2Close);
    if (this.#idleMs > 0) {
      stream.setTimeout(this.#idleMs);
      stream.on('timeout', UpstreamAttempt.#idle);
    }
    if (!stream.writableEnded) sendBody(stream, r);
  }

  static #h1Response(this: Tagged<ClientRequest>, res: Tagged<IncomingMessage>): void {
    const a = this[ATTEMPT]!;
    if (a.#done) {
      res.resume();
      return;
    }
    a.#responded = true;
    res[ATTEMPT] = a;
    res.on('end', UpstreamAttempt.#bodyEnd);
    res.on('error', UpstreamAttempt.#h1BodyError);
    res.on('aborted', UpstreamAttempt.#h1BodyError);
    const headers = endToEndHeaders(res.rawHeaders, res.headers.connection, false);
    a.#sink.attemptResponded(a, res.statusCode ?? 502, headers, res);
  }

  static #h1Error(this: Tagged<ClientRequest>, err: Error): void {
    const a = this[ATTEMPT]!;
    if (a.#done) return;
    if (a.#responded) return; // reported by the response's own error
    a.#fail(
      new UpstreamError('connect', err.message, {
        afterResponse: false,
        reusedConnection: this.reusedSocket,
        cause: err,
      }),
    );
  }

  static #h1BodyError(this: Tagged<IncomingMessage>, err?: Error): void {
    const a = this[ATTEMPT]!;
    if (a.#done) return;
    a.#fail(
      new UpstreamError('connect', err?.message ?? 'response cut', { afterResponse: true, cause: err }),
    );
  }

  static #h2Response(this: Tagged<ClientHttp2Stream>, h: IncomingHttpHeaders): void {
    const a = this[ATTEMPT]!;
    if (a.#done) return;
    a.#responded = true;
    this.on('end', UpstreamAttempt.#bodyEnd);
    this.on('trailers', UpstreamAttempt.#h2Trailers);
    a.#sink.attemptResponded(a, Number(h[':status']), headersOfH2(h), this);
  }

  static #h2Trailers(this: Tagged<ClientHttp2Stream>, t: IncomingHttpHeaders): void {
    const a = this[ATTEMPT]!;
    if (!a.#done) a.#sink.attemptTrailers(a, headersOfH2(t));
  }

  static #h2Error(this: Tagged<ClientHttp2Stream>, err: Error): void {
    const a = this[ATTEMPT]!;
    if (a.#done) return;
    a.#fail(new UpstreamError('connect', err.message, { afterResponse: a.#responded, cause: err }));
  }

  static #h2Close(this: Tagged<ClientHttp2Stream>): void {
    const a = this[ATTEMPT]!;
    if (a.#session !== null) {
      a.endpoint.sessions!.release(a.#session);
      a.#session = null;
    }
    if (a.#done) return;
    const code = this.rstCode;
    // A whole response whose body is still being read: its 'end' finishes the attempt.
    if (a.#responded && code === constants.NGHTTP2_NO_ERROR && this.readableEnded === false) return;
    // Closed without an error and before its end: RST_STREAM from the backend, or GOAWAY.
    a.#fail(new UpstreamError('connect', `stream closed (code ${code})`, { afterResponse: a.#responded }));
  }

  static #bodyEnd(this: Tagged<Readable>): void {
    const a = this[ATTEMPT];
    if (a !== undefined) a.#finish();
  }

  static #idle(this: Tagged<ClientRequest | ClientHttp2Stream>): void {
    const a = this[ATTEMPT]!;
    if (a.#done) return;
    const responded = a.#responded;
    a.abort();
    a.#sink.attemptFailed(
      a,
      new UpstreamError('timeout', 'backend idle timeout', { afterResponse: responded }),
    );
  }

  static #timedOut(a: UpstreamAttempt): void {
    a.#timer = null;
    if (a.#done) return;
    const responded = a.#responded;
    a.abort();
    a.#sink.attemptFailed(
      a,
      new UpstreamError('timeout', 'backend request timed out', { afterResponse: responded }),
    );
  }

  #fail(err: UpstreamError): void {
    if (this.#done) return;
    this.#finish();
    this.#sink.attemptFailed(this, err);
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.endpoint.release();
  }
}

function sendBody(w: ClientRequest | ClientHttp2Stream, r: UpstreamRequest): void {
  if (r.stream !== null) {
    for (const chunk of r.stream.head) w.write(chunk);
    r.stream.rest.pipe(w);
  } else if (r.body !== null && r.body.length > 0) w.end(r.body);
  else w.end();
}
