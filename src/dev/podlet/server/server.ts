import { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { KubeletBackend } from '../types.ts';
import { KubeletHttpError } from './errors.ts';
import { serveContainerLogs } from './logs.ts';
import { servePortForward } from './port-forward.ts';
import { serveRemoteCommand } from './remote-command.ts';
import { matchRoute } from './routes.ts';
import { writeRawError } from './upgrade.ts';

export interface KubeletServerOptions {
  backend: KubeletBackend;
  /** PEM contents: the serving certificate and key, and the CA that signs client certificates. */
  tls: { cert: string; key: string; ca: string };
  log: Logger;
}

const UNAUTHORIZED = new KubeletHttpError(401, 'Unauthorized');

/**
 * The kubelet API over HTTPS: /healthz, /containerLogs, and exec, attach and port-forward over
 * SPDY/3.1 upgrades. Every request needs a client certificate signed by `tls.ca`. The caller
 * listens (TCP or a unix socket path).
 */
export function createKubeletServer(opts: KubeletServerOptions): Server {
  const { backend, log } = opts;
  const server = new KubeletServer({
    cert: opts.tls.cert,
    key: opts.tls.key,
    ca: opts.tls.ca,
    requestCert: true,
    // Checked per request instead, so an unauthenticated client gets a 401 rather than a TLS alert.
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handleRequest(req, res).catch((err: unknown) => {
      const httpErr = toHttpError(err, log);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(httpErr.status, { 'Content-Type': 'text/plain; charset=utf-8', ...httpErr.headers });
      res.end(httpErr.message + '\n');
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    server.track(socket);
    socket.on('error', (err) => log.debug({ err }, 'kubelet api connection error'));
    handleUpgrade(req, socket, head).catch((err: unknown) => {
      if (socket.destroyed) return;
      writeRawError(socket, toHttpError(err, log));
    });
  });

  server.on('tlsClientError', (err) => log.debug({ err }, 'kubelet api tls error'));

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!authorized(req)) throw UNAUTHORIZED;
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const route = matchRoute(url.pathname);
    if (!route) throw new KubeletHttpError(404, '404 page not found');
    if (route.kind === 'healthz' || route.kind === 'logs') {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        throw new KubeletHttpError(405, 'method not allowed');
      if (route.kind === 'healthz') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      }
      await serveContainerLogs(backend, log, route, url.searchParams, res);
      return;
    }
    throw new KubeletHttpError(
      400,
      'unable to upgrade: missing upgrade headers in request (want Upgrade: SPDY/3.1)',
    );
  }

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!authorized(req)) throw UNAUTHORIZED;
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const route = matchRoute(url.pathname);
    if (!route || route.kind === 'healthz' || route.kind === 'logs')
      throw new KubeletHttpError(404, '404 page not found');
    if (req.method !== 'GET' && req.method !== 'POST') throw new KubeletHttpError(405, 'method not allowed');
    log.debug({ route, method: req.method }, 'kubelet api upgrade');
    if (route.kind === 'portForward') {
      // As the kubelet answers before upgrading; the ports come later, one stream pair each.
      if (!backend.hasPod(route.namespace, route.pod)) throw new KubeletHttpError(404, 'pod does not exist');
      servePortForward(backend, log, route, req, socket, head);
      return;
    }
    await serveRemoteCommand(
      backend,
      log,
      {
        kind: route.kind,
        namespace: route.namespace,
        pod: route.pod,
        container: route.container,
        query: url.searchParams,
      },
      req,
      socket,
      head,
    );
  }

  return server;
}

/** An https.Server whose close() also ends the upgraded (exec, attach, port-forward) connections. */
class KubeletServer extends Server {
  readonly #upgraded = new Set<Duplex>();

  track(socket: Duplex): void {
    this.#upgraded.add(socket);
    socket.once('close', () => this.#upgraded.delete(socket));
  }

  override close(callback?: (err?: Error) => void): this {
    super.close(callback);
    for (const socket of this.#upgraded) socket.destroy();
    return this;
  }
}

function authorized(req: IncomingMessage): boolean {
  return (req.socket as TLSSocket).authorized === true;
}

function toHttpError(err: unknown, log: Logger): KubeletHttpError {
  if (err instanceof KubeletHttpError) return err;
  log.error({ err }, 'kubelet api request failed');
  return new KubeletHttpError(500, `internal error: ${(err as Error).message}`);
}
