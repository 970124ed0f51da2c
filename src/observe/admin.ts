import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { STATUS_PAGE_DIR, staticFile } from './admin-static.ts';

/** Where the admin listener binds. Plain HTTP: keep it on loopback or a pod-internal port. */
export interface AdminOptions {
  address: string;
  port: number;
  /** Folder of the status page (default `src/observe/status-page/`). */
  staticDir?: string;
}

/**
 * What the admin endpoints read from the gateway: a `RunningGateway`'s own objects, or for worker
 * threads the main thread's view over all of them (hence the promises).
 */
export interface AdminView {
  /** null when ready; else why not (for `/readyz`). */
  notReady(): string | null | Promise<string | null>;
  readonly metrics: { readonly contentType: string; text(): Promise<string> };
  readonly status: { json(): unknown };
}

/**
 * The admin listener: `/healthz` and `/livez` (the process answers), `/readyz` (configuration
 * loaded, every served cluster has a healthy endpoint, not draining), `/metrics` (Prometheus),
 * `/status.json` and the status page. GET and HEAD only.
 */
export class AdminServer {
  readonly #server: Server;
  readonly #opts: AdminOptions;
  readonly #view: AdminView;
  readonly #log: Logger;
  #address: AddressInfo | null = null;

  constructor(view: AdminView, opts: AdminOptions, log: Logger) {
    this.#view = view;
    this.#opts = opts;
    this.#log = log;
    this.#server = createServer({ keepAliveTimeout: 5000 }, (req, res) => void this.#handle(req, res));
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#opts.port, this.#opts.address, () => {
        this.#server.off('error', reject);
        this.#address = this.#server.address() as AddressInfo;
        resolve(this.#address);
      });
    });
  }

  /** The base URL, e.g. `http://127.0.0.1:9443`. */
  get url(): string {
    const a = this.#address!;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  get address(): AddressInfo {
    return this.#address!;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      }
      const path = (req.url ?? '/').split('?')[0];
      switch (path) {
        case '/healthz':
        case '/livez':
          return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
        case '/readyz': {
          const why = await this.#view.notReady();
          return why === null
            ? send(res, 200, 'text/plain; charset=utf-8', 'ok\n')
            : send(res, 503, 'text/plain; charset=utf-8', `not ready: ${why}\n`);
        }
        case '/metrics': {
          const m = this.#view.metrics;
          return send(res, 200, m.contentType, await m.text());
        }
        case '/status.json':
          res.setHeader('cache-control', 'no-store');
          return send(
            res,
            200,
            'application/json; charset=utf-8',
            JSON.stringify(await this.#view.status.json()),
          );
      }
      const file = await staticFile(this.#opts.staticDir ?? STATUS_PAGE_DIR, path);
      if (file === null) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      res.setHeader('cache-control', 'no-cache');
      return send(res, 200, file.contentType, file.body);
    } catch (err) {
      this.#log.error({ kind: 'admin', url: req.url, err: (err as Error).message }, 'admin request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('x-content-type-options', 'nosniff');
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Opens an admin listener on `opts` and logs where it is. */
export async function startAdminServer(
  view: AdminView,
  opts: AdminOptions,
  log: Logger,
): Promise<AdminServer> {
  const admin = new AdminServer(view, opts, log);
  await admin.listen();
  log.info({ kind: 'start', admin: admin.url }, 'kubegate admin listening');
  return admin;
}
