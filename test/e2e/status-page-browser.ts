import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** The status page's files, as the admin listener serves them. */
export const STATUS_PAGE_DIR = fileURLToPath(new URL('../../src/observe/status-page/', import.meta.url));

/** Debian's chromium, never a downloaded browser. */
const CHROMIUM = process.env.KUBEGATE_CHROMIUM ?? '/usr/bin/chromium';

/** Headless Debian chromium with nothing running in the background that could reach the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A TCP forwarder from a local port to `target` (`https://host:port`). The gateway reaches an
 * apiserver through it, so closing it makes that endpoint fail without touching the shared
 * apiserver; TLS passes through untouched and the serving certificate still matches 127.0.0.1.
 */
export class TcpForwarder {
  readonly target: URL;
  #server: Server;
  #sockets = new Set<Socket>();
  #port = 0;

  private constructor(target: string) {
    this.target = new URL(target);
    this.#server = createServer((client) => {
      const upstream = createConnection({ host: this.target.hostname, port: Number(this.target.port) });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        // A reset on one side ends the other: nothing to report beyond the closed pair.
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  }

  static async start(target: string): Promise<TcpForwarder> {
    const f = new TcpForwarder(target);
    await new Promise<void>((resolve, reject) => {
      f.#server.once('error', reject);
      f.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = f.#server.address();
    if (addr === null || typeof addr === 'string') throw new Error('forwarder has no TCP address');
    f.#port = addr.port;
    return f;
  }

  /** The URL to configure as the endpoint: the target's scheme on the forwarder's port. */
  get url(): string {
    return `${this.target.protocol}//127.0.0.1:${this.#port}`;
  }

  /** Stops accepting and cuts every open connection, as a dead apiserver would. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * A stand-in admin listener: the status page's files and a `status.json` the test sets, for
 * checking the page's rendering of states a live gateway is slow to reach.
 */
export class StubStatusServer {
  status: unknown = null;
  readonly #server: HttpServer;

  private constructor() {
    this.#server = createHttpServer((req, res) => {
      void this.#answer(req.url ?? '/').then(
        ({ code, type, body }) => res.writeHead(code, { 'content-type': type }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
  }

  static async start(): Promise<StubStatusServer> {
    const s = new StubStatusServer();
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', () => resolve()));
    return s;
  }

  get url(): string {
    const addr = this.#server.address();
    if (addr === null || typeof addr === 'string') throw new Error('stub has no TCP address');
    return `http://127.0.0.1:${addr.port}/`;
  }

  async #answer(path: string): Promise<{ code: number; type: string; body: string | Buffer }> {
    const name = new URL(path, 'http://x').pathname.slice(1) || 'index.html';
    if (name === 'status.json')
      return { code: 200, type: 'application/json', body: JSON.stringify(this.status) };
    const type = TYPES[extname(name)];
    if (!type || name.includes('/')) return { code: 404, type: 'text/plain', body: 'not found' };
    return { code: 200, type, body: await readFile(join(STATUS_PAGE_DIR, name)) };
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
