import type { Readable } from 'node:stream';
import type { UpstreamAttempt } from './attempt.ts';
import type { ReadBody } from './body.ts';
import type { HeaderMap } from './headers.ts';

/** Why an attempt to a backend failed. */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  /** `connect`: no response came (refused, reset, closed); `timeout`: the per-attempt timeout fired. */
  readonly kind: 'connect' | 'timeout';
  /** The response head had arrived (the body was cut). */
  readonly afterResponse: boolean;
  /** HTTP/1.1: the request went out on a kept-alive connection the backend may have just closed. */
  readonly reusedConnection: boolean;

  constructor(
    kind: 'connect' | 'timeout',
    message: string,
    opts: { afterResponse: boolean; reusedConnection?: boolean; cause?: unknown },
  ) {
    super(message, { cause: opts.cause });
    this.kind = kind;
    this.afterResponse = opts.afterResponse;
    this.reusedConnection = opts.reusedConnection ?? false;
  }
}

/** Who hears how an attempt goes; each attempt reports one `responded` and/or one `failed`. */
export interface AttemptSink {
  attemptResponded(a: UpstreamAttempt, status: number, headers: HeaderMap, body: Readable): void;
  /** HTTP/2: the trailers that end the response (gRPC's status), before its body ends. */
  attemptTrailers(a: UpstreamAttempt, trailers: HeaderMap): void;
  /** Before the response head, or while its body was relayed (`err.afterResponse`). */
  attemptFailed(a: UpstreamAttempt, err: UpstreamError): void;
}

/** What is sent: the head, and a body that is whole (`Buffer`), streamed, or absent. */
export interface UpstreamRequest {
  readonly method: string;
  /** Origin-form path and query. */
  readonly path: string;
  readonly authority: string;
  readonly headers: HeaderMap;
  readonly body: Buffer | null;
  /** A body still arriving: chunks already read, then the rest. */
  readonly stream: { readonly head: readonly Buffer[]; readonly rest: Readable } | null;
}

/** The head of an upstream request, before its body is known. */
export type UpstreamHead = Pick<UpstreamRequest, 'method' | 'path' | 'authority' | 'headers'>;

/**
 * The request with its body: one held whole is framed by length (Node would not frame a GET's
 * body by itself), one streamed to HTTP/1.1 without a length is chunked (Node chunks only
 * POST/PUT/PATCH by itself); `rest` is the client request the stream continues with.
 */
export function withBody(
  head: UpstreamHead,
  body: ReadBody,
  rest: Readable,
  chunk: boolean,
): UpstreamRequest {
  const h = head.headers;
  if ('whole' in body) {
    if (body.whole.length === 0) return { ...head, body: null, stream: null };
    delete h['transfer-encoding'];
    h['content-length'] = [String(body.whole.length)];
    return { ...head, body: body.whole, stream: null };
  }
  if (chunk && h['content-length'] === undefined) h['transfer-encoding'] = ['chunked'];
  return { ...head, body: null, stream: { head: body.head, rest } };
}
