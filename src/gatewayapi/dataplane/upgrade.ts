import { request as httpRequest, ServerResponse, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { TimeoutsIR } from '../ir.ts';
import { answerPlain } from './answer.ts';
import type { UpstreamCluster, UpstreamEndpoint } from './clusters.ts';
import { endToEndHeaders, modifyHeaders, type HeaderMap } from './headers.ts';
import type { CompiledBackend, CompiledRoute } from './route.ts';
import type { UpstreamHead } from './upstream-request.ts';

/** A tunnel with no byte either way for this long is closed (WebSocket pings keep live ones busy). */
const TUNNEL_IDLE_MS = 3_600_000;
/** TCP keep-alive probes on both sockets of a tunnel find peers that vanished without a FIN. */
const TUNNEL_KEEPALIVE_MS = 60_000;

const WEBSOCKET = /(?:^|,)\s*websocket\s*(?:,|$)/i;

/**
 * `shouldUpgradeCallback`: only WebSocket is tunnelled. Another upgrade (`h2c` from curl) is served
 * as the plain request it also is: a tunnel would let the client talk to the backend past routing.
 */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const u = req.headers.upgrade;
  return u !== undefined && WEBSOCKET.test(u);
}

/** The client's side of an upgrade request: the socket Node handed over and the bytes read past the head. */
export interface ClientUpgrade {
  readonly socket: Socket;
  readonly head: Buffer;
}

/**
 * A response on the socket of an upgrade request, so the exchange answers it as any other (404,
 * redirect, 502…) with `Connection: close`, the socket ended after it. A 101 leaves the socket to
 * the tunnel; the response's `close` still comes when the socket closes.
 */
export function upgradeResponse(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', endUnlessSwitched);
  // Node took its own listeners off the socket when it handed it over.
  socket.on('error', ignore);
  return res;
}

function endUnlessSwitched(this: ServerResponse): void {
  if (this.statusCode !== 101) this.socket?.destroySoon();
}

/**
 * One WebSocket through the data plane: the handshake goes to one endpoint on a connection of its
 * own (HTTP/1.1, whatever the cluster speaks otherwise) with the route's and backend's header
 * filters; the backend's 101, with the response filters, goes to the client and then bytes flow
 * both ways until either side closes. Any other answer is relayed as it came and the connection
 * closed. The route's timeouts bound the handshake only; an open tunnel has an idle timeout.
 */
export class UpgradeTunnel {
  readonly #res: ServerResponse;
  readonly #client: ClientUpgrade;
  readonly #route: CompiledRoute;
  readonly #backend: CompiledBackend;
  readonly #cluster: UpstreamCluster;
  readonly #log: Logger;
  #endpoint: UpstreamEndpoint | null = null;
  #request: ClientRequest | null = null;
  #upstream: Socket | null = null;
  #timer: NodeJS.Timeout | null = null;
  #over = false;

  constructor(
    res: ServerResponse,
    client: ClientUpgrade,
    route: CompiledRoute,
    backend: CompiledBackend,
    cluster: UpstreamCluster,
    log: Logger,
  ) {
    this.#res = res;
    this.#client = client;
    this.#route = route;
    this.#backend = backend;
    this.#cluster = cluster;
    this.#log = log;
  }

  /** Sends the handshake: `head` carries the route's request filters and the client's `Upgrade`. */
  start(head: UpstreamHead, upgrade: string): void {
    const ep = this.#cluster.pick();
    if (ep === null) return this.#answer(503, 'no healthy upstream');
    ep.acquire();
    this.#endpoint = ep;
    const headers: Record<string, string | string[]> = head.headers;
    for (const m of this.#backend.requestHeaders) modifyHeaders(head.headers, m);
    headers.host = head.authority;
    headers.connection = 'Upgrade';
    headers.upgrade = upgrade;
    const ms = handshakeMs(this.#route.timeouts);
    if (ms > 0) this.#timer = setTimeout(UpgradeTunnel.#timedOut, ms, this);
    let req: ClientRequest;
    try {
      req = httpRequest({
        host: ep.address,
        port: ep.port,
        method: head.method,
        path: head.path,
        headers,
        setHost: false,
        agent: false,
      });
    } catch (err) {
      // Node refuses the head (a header value a filter made invalid).
      this.#log.debug({ err: (err as Error).message }, 'gatewayapi: upgrade request refused');
      return this.#answer(502, 'upstream connect error or disconnect/reset before headers');
    }
    this.#request = req;
    req.once('upgrade', (res: IncomingMessage, socket: Socket, rest: Buffer) =>
      this.#switched(res, socket, rest),
    );
    req.once('response', (res: IncomingMessage) => this.#refused(res));
    req.on('error', (err: Error) => this.#failed(err));
    req.end();
  }

  /**
   * The client's socket closed: the handshake is cut; an open tunnel's backend side ends after what
   * the client sent last (a clean close) or is cut (a reset).
   */
  close(): void {
    this.#finish();
    this.#request?.destroy();
    const up = this.#upstream;
    if (up === null) return;
    this.#upstream = null;
    if (this.#client.socket.readableEnded) up.destroySoon();
    else up.destroy();
  }

  #switched(res: IncomingMessage, upstream: Socket, rest: Buffer): void {
    if (this.#over) {
      upstream.destroy();
      return;
    }
    this.#upstream = upstream;
    const client = this.#client.socket;
    const headers = this.#responseHeaders(res);
    headers.connection = ['Upgrade'];
    headers.upgrade = [res.headers.upgrade ?? 'websocket'];
    try {
      this.#res.writeHead(101, headers);
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'gatewayapi: upgrade response head refused');
      this.close();
      return answerPlain(this.#res, 502, 'invalid response from upstream');
    }
    this.#res.end(); // the head alone: a 101 has no body, and its socket stays open
    this.#clearTimer();
    upstream.on('error', ignore);
    if (rest.length > 0) client.write(rest);
    if (this.#client.head.length > 0) upstream.write(this.#client.head);
    for (const s of [client, upstream]) {
      s.setKeepAlive(true, TUNNEL_KEEPALIVE_MS);
      s.setTimeout(TUNNEL_IDLE_MS, cutTunnel);
    }
    // The client's close reaches the exchange, which calls close(); the backend's is handled here.
    upstream.once('close', () => {
      if (upstream.readableEnded) client.destroySoon();
      else client.destroy();
    });
    upstream.pipe(client);
    client.pipe(upstream);
  }

  /** The backend did not switch: its answer goes to the client as it came, then the connection closes. */
  #refused(res: IncomingMessage): void {
    if (this.#over) {
      res.resume();
      return;
    }
    this.#clearTimer();
    try {
      this.#res.writeHead(res.statusCode ?? 502, this.#responseHeaders(res));
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'gatewayapi: response head refused');
      this.close();
      return answerPlain(this.#res, 502, 'invalid response from upstream');
    }
    res.once('end', () => this.#finish());
    res.pipe(this.#res);
  }

  #failed(err: Error): void {
    if (this.#over) return;
    this.#log.debug(
      { endpoint: this.#endpoint?.name, err: err.message },
      'gatewayapi: upgrade attempt failed',
    );
    if (this.#res.headersSent) {
      this.close();
      this.#res.destroy();
      return;
    }
    this.#answer(502, 'upstream connect error or disconnect/reset before headers');
  }

  #responseHeaders(res: IncomingMessage): HeaderMap {
    const headers = endToEndHeaders(res.rawHeaders, res.headers.connection, false);
    for (const m of this.#route.responseHeaders) modifyHeaders(headers, m);
    for (const m of this.#backend.responseHeaders) modifyHeaders(headers, m);
    return headers;
  }

  #answer(status: number, text: string): void {
    this.close();
    answerPlain(this.#res, status, text);
  }

  #finish(): void {
    if (this.#over) return;
    this.#over = true;
    this.#clearTimer();
    this.#endpoint?.release();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  static #timedOut(t: UpgradeTunnel): void {
    t.#timer = null;
    if (t.#over) return;
    t.#answer(504, 'upstream request timeout');
  }
}

/** The shorter of the route's request and backend request timeouts; 0 = none. */
function handshakeMs(t: TimeoutsIR | null): number {
  if (t === null) return 0;
  const a = t.requestMs;
  const b = t.backendRequestMs;
  return a > 0 && b > 0 ? Math.min(a, b) : Math.max(a, b);
}

function ignore(): void {}

/** An idle tunnel: both sockets are cut (the client's close then ends the exchange). */
function cutTunnel(this: Socket): void {
  this.destroy();
}
