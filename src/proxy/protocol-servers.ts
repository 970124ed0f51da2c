import {
  createServer as createH1,
  type IncomingMessage,
  type Server as H1Server,
  type ServerResponse,
} from 'node:http';
import {
  constants,
  createServer as createH2,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ClientLimitsConfig } from '../config/model.ts';
import { H1Exchange, H2Exchange, type ClientExchange } from './exchange.ts';
import { answerMalformedRequest } from './malformed-request.ts';
import { refusedForResets } from './premature-resets.ts';

/** What the protocol servers hand on: each request, each HTTP/1.1 upgrade, each new HTTP/2 session. */
export interface ProtocolHandlers {
  request(x: ClientExchange): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  session(s: ServerHttp2Session): void;
}

/**
 * The HTTP/1.1 and HTTP/2 servers behind one TLS listener, built for one set of client limits.
 * Most of those limits are constructor options in Node, so a reload that changes them builds a
 * new pair for new connections; connections already open keep the pair they came in on.
 */
export class ProtocolServers {
  readonly h1: H1Server;
  readonly h2: Http2Server;
  readonly limits: ClientLimitsConfig;
  /** Client connections handed to these servers and still open. */
  connections = 0;

  constructor(limits: ClientLimitsConfig, on: ProtocolHandlers) {
    this.limits = limits;
    this.h1 = createH1(
      {
        requestTimeout: 0,
        headersTimeout: limits.headersTimeoutMs,
        keepAliveTimeout: limits.idleTimeoutMs,
        maxHeaderSize: limits.maxHeaderBytes,
        // Node checks headersTimeout on this interval only (default 30 s).
        connectionsCheckingInterval: Math.max(100, Math.min(30_000, limits.headersTimeoutMs / 2)),
      },
      (req: IncomingMessage, res: ServerResponse) => on.request(new H1Exchange(req, res)),
    );
    this.h1.maxHeadersCount = limits.maxHeaderCount;
    this.h1.on('upgrade', on.upgrade);
    this.h1.on('clientError', answerMalformedRequest);
    // This server never listens (the TLS server hands it sockets), and Node starts tracking
    // connections, which headersTimeout needs, only on 'listening'.
    this.h1.emit('listening');
    // The core stream API, not the compatibility one (no `request` listener): see H2Exchange.
    // nghttp2 resets a stream whose header list is over maxHeaderListSize or maxHeaderListPairs
    // before any handler sees it, and answers RST_STREAM frames past the token bucket
    // (streamResetBurst, then streamResetRate a second: rapid reset, CVE-2023-44487) with
    // GOAWAY(INTERNAL_ERROR).
    this.h2 = createH2({
      settings: {
        maxConcurrentStreams: limits.maxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderBytes,
      },
      maxHeaderListPairs: limits.maxHeaderCount,
      streamResetBurst: limits.streamResets.burst,
      streamResetRate: limits.streamResets.ratePerSecond,
    });
    this.h2.on(
      'stream',
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
        if (refusedForResets(stream)) {
          stream.on('error', ignore); // the close's own ERR_HTTP2_STREAM_ERROR
          stream.close(constants.NGHTTP2_REFUSED_STREAM);
        } else on.request(new H2Exchange(stream, headers, rawHeaders));
      },
    );
    this.h2.on('session', (s: ServerHttp2Session) => {
      watchSession(s, limits);
      on.session(s);
    });
    this.h2.setTimeout(0);
  }
}

/** Stops the HTTP/1.1 server's connection checks (its connections are closed by the listener). */
export function stopProtocolServers(p: ProtocolServers): void {
  p.h1.close(() => {});
}

/**
 * GOAWAY for a session with no stream open for `idleTimeoutMs`. Node's session timeout counts any
 * frame as activity but fires also while a quiet watch is open, so open streams are counted here.
 */
function watchSession(s: ServerHttp2Session, limits: ClientLimitsConfig): void {
  let open = 0;
  // One listener for all the session's streams: a closure per stream is held while a watch is open.
  const closed = () => open--;
  s.on('stream', (stream: ServerHttp2Stream) => {
    open++;
    stream.on('close', closed); // emitted once
  });
  s.setTimeout(limits.idleTimeoutMs, () => {
    if (open === 0) s.close();
  });
}

function ignore(): void {}
