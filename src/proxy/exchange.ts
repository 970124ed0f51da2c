import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Readable } from 'node:stream';
import { sessionConnection, socketConnection, type ClientConnection } from './connection.ts';
import { originForm } from './request-target.ts';

/**
 * One client request and its response, whatever the protocol: the HTTP/2 adapter works on the
 * core `ServerHttp2Stream` (not the compatibility API, which costs two objects and a dozen
 * listeners per stream), the HTTP/1.1 adapter on Node's `IncomingMessage` / `ServerResponse`.
 */
export interface ClientExchange {
  readonly method: string;
  /** The request target as sent (origin form). */
  readonly url: string;
  readonly protocol: 'h2' | 'http/1.1';
  /** Lowercase names; repeated lines joined as Node joins them (use `rawHeaders` to keep them apart). */
  readonly headers: IncomingHttpHeaders;
  /** Name, value, name, value… as received. */
  readonly rawHeaders: readonly string[];
  readonly connection: ClientConnection;
  /** Whether a request body follows the headers. */
  readonly hasBody: boolean;
  /** The request body. */
  readonly body: Readable;
  /** The client went away or the exchange is over. */
  readonly gone: boolean;
  readonly headersSent: boolean;
  /** The response was ended. */
  readonly ended: boolean;
  /** The status sent, 0 before. */
  readonly status: number;
  /** Runs once when the exchange is over (answered, reset or the connection lost). */
  onClose(fn: () => void): void;
  /**
   * Nothing reads the request's headers again (a watch served from gateway state): they are let
   * go, all but `:method` and `:path`, so an open response does not hold them (a bearer token
   * alone is a kilobyte).
   */
  releaseRequestHead(): void;
  /**
   * Sends the response head; `flush` sends it at once even before any body (watches). Headers as
   * an object, or as a flat list (name, value, …; no `:status`), which Node takes without a copy.
   */
  respond(status: number, headers: OutgoingHttpHeaders | string[], flush: boolean): void;
  /** Writes a chunk of the response body; false when the client's buffer is full (wait for `onDrain`). */
  write(chunk: Buffer): boolean;
  /** Runs `fn` once when the client's buffer has room again. */
  onDrain(fn: () => void): void;
  /** Ends the response, with a last chunk if given. */
  end(body?: string | Buffer): void;
  /** Cuts the response (a client must not take a cut body for a whole one): HTTP/2 RST_STREAM(INTERNAL_ERROR), HTTP/1.1 closes the connection. */
  destroy(): void;
  /** HTTP/1.1: no further request on this connection (the counterpart of GOAWAY while draining). */
  closeConnection(): void;
}

function ignore(): void {}

const CUT = new Error('response cut');
const NO_HEADERS: readonly string[] = Object.freeze([]);

/** The HTTP/2 adapter over a core server stream. */
export class H2Exchange implements ClientExchange {
  readonly #stream: ServerHttp2Stream;
  headers: IncomingHttpHeaders;
  rawHeaders: readonly string[];
  readonly connection: ClientConnection;
  status = 0;
  /**
   * What runs at the stream's close, behind one listener: a `once` per caller costs a wrapper
   * closure and its context each, for as long as a watch stays open.
   */
  #closers: (() => void) | (() => void)[] | null = null;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: readonly string[]) {
    this.#stream = stream;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.connection = sessionConnection(stream.session!);
    // A client's RST_STREAM surfaces as an 'error' on the stream; the 'close' that follows is what counts.
    stream.on('error', ignore);
    // No body follows (END_STREAM came with the headers): marked as not read in flowing mode, so
    // once the response is out Node does not close the stream itself with RST_STREAM(NO_ERROR) a
    // turn later (a setImmediate, a close and a frame per request); both sides have ended, so
    // nghttp2 closes it as it is.
    if (stream.endAfterHeaders) stream.pause();
  }

  get method(): string {
    return (this.headers[':method'] as string | undefined) ?? 'GET';
  }

  get url(): string {
    return (this.headers[':path'] as string | undefined) ?? '/';
  }

  get protocol(): 'h2' {
    return 'h2';
  }

  get hasBody(): boolean {
    return !this.#stream.endAfterHeaders;
  }

  get body(): Readable {
    return this.#stream;
  }

  get gone(): boolean {
    return this.#stream.closed;
  }

  get headersSent(): boolean {
    return this.#stream.headersSent;
  }

  get ended(): boolean {
    return this.#stream.writableEnded;
  }

  onClose(fn: () => void): void {
    const c = this.#closers;
    if (c === null) {
      this.#closers = fn;
      this.#stream.on('close', this.#closed);
    } else if (typeof c === 'function') this.#closers = [c, fn];
    else c.push(fn);
  }

  readonly #closed = (): void => {
    const c = this.#closers;
    this.#closers = null;
    if (typeof c === 'function') c();
    else if (c !== null) for (const fn of c) fn();
  };

  releaseRequestHead(): void {
    const h = this.headers;
    this.headers = { ':method': h[':method'], ':path': h[':path'] };
    this.rawHeaders = NO_HEADERS;
  }

  respond(status: number, headers: OutgoingHttpHeaders | string[], _flush: boolean): void {
    // A stream the client reset is closed (and respond() would throw) before it is destroyed.
    if (this.#stream.closed) return;
    if (Array.isArray(headers)) headers.unshift(':status', String(status));
    else headers[':status'] = status;
    this.status = status;
    // HEADERS goes out at once on HTTP/2. (Node takes a flat list too; its typings do not say so.)
    this.#stream.respond(headers as OutgoingHttpHeaders);
  }

  write(chunk: Buffer): boolean {
    return this.#stream.write(chunk);
  }

  onDrain(fn: () => void): void {
    this.#stream.once('drain', fn);
  }

  end(body?: string | Buffer): void {
    const s = this.#stream;
    if (s.closed) return;
    if (body === undefined) s.end();
    else s.end(body);
    // An answer given before the request body was all read (a refusal): stop the client sending
    // the rest with RST_STREAM(NO_ERROR) once the answer is out (RFC 9113 §8.1); Node sends it
    // after the response's last frame. Until then what arrives is discarded.
    if (!s.endAfterHeaders && !s.readableEnded) {
      s.resume();
      s.close(constants.NGHTTP2_NO_ERROR);
    }
  }

  destroy(): void {
    // With an error, so RST_STREAM(INTERNAL_ERROR): Node's destroy() without one, and close(code)
    // too, first end the stream (END_STREAM), and the client takes the part it got for the whole.
    this.#stream.destroy(CUT);
  }

  closeConnection(): void {}
}

/** The HTTP/1.1 adapter. */
export class H1Exchange implements ClientExchange {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly connection: ClientConnection;
  status = 0;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.#req = req;
    this.#res = res;
    this.connection = socketConnection(req.socket);
  }

  get method(): string {
    return this.#req.method ?? 'GET';
  }

  get url(): string {
    return originForm(this.#req.url ?? '/');
  }

  get protocol(): 'http/1.1' {
    return 'http/1.1';
  }

  get headers(): IncomingHttpHeaders {
    return this.#req.headers;
  }

  get rawHeaders(): readonly string[] {
    return this.#req.rawHeaders;
  }

  get hasBody(): boolean {
    const h = this.#req.headers;
    return (
      h['transfer-encoding'] !== undefined ||
      (h['content-length'] !== undefined && h['content-length'] !== '0')
    );
  }

  get body(): Readable {
    return this.#req;
  }

  get gone(): boolean {
    return this.#res.destroyed;
  }

  get headersSent(): boolean {
    return this.#res.headersSent;
  }

  get ended(): boolean {
    return this.#res.writableEnded;
  }

  onClose(fn: () => void): void {
    this.#res.once('close', fn);
  }

  releaseRequestHead(): void {} // Node's IncomingMessage keeps them

  respond(status: number, headers: OutgoingHttpHeaders | string[], flush: boolean): void {
    this.status = status;
    this.#res.writeHead(status, headers);
    if (flush) this.#res.flushHeaders();
  }

  write(chunk: Buffer): boolean {
    return this.#res.write(chunk);
  }

  onDrain(fn: () => void): void {
    this.#res.once('drain', fn);
  }

  end(body?: string | Buffer): void {
    if (body === undefined) this.#res.end();
    else this.#res.end(body);
  }

  destroy(): void {
    this.#res.destroy();
  }

  closeConnection(): void {
    this.#res.shouldKeepAlive = false;
  }
}
