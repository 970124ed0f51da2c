import {
  createSecureServer,
  type Http2SecureServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { BenchPKI } from './pki.ts';

/** The token the tiny upstream's TokenReview accepts, and the user it names. */
export const BENCH_TOKEN = 'kubegate-bench-token';

// A ConfigMap-shaped body of 1 KiB, built once.
function configMapBody(): Buffer {
  const base = {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: 'bench', namespace: 'default' },
    data: { pad: '' },
  };
  const size = Buffer.byteLength(JSON.stringify(base));
  base.data.pad = 'x'.repeat(1024 - size);
  return Buffer.from(JSON.stringify(base));
}

const BODY = configMapBody();
const OK_HEADERS = { ':status': 200, 'content-type': 'application/json', 'content-length': BODY.length };
const REVIEW = Buffer.from(
  JSON.stringify({
    kind: 'TokenReview',
    apiVersion: 'authentication.k8s.io/v1',
    status: { authenticated: true, user: { username: 'bench-user', groups: ['bench:clients'] } },
  }),
);

function onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  // The gateway cancels streams its clients reset (the abuse scenario's rapid reset).
  stream.on('error', ignore);
  const path = headers[':path'] ?? '/';
  if (headers[':method'] === 'POST' && path.startsWith('/apis/authentication.k8s.io/v1/tokenreviews')) {
    // Only the gateway's first request per token gets here: it caches the answer.
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (body += c));
    stream.on('end', () => {
      const ok = body.includes(BENCH_TOKEN);
      const out = ok ? REVIEW : Buffer.from('{"kind":"TokenReview","status":{"authenticated":false}}');
      stream.respond({ ':status': 201, 'content-type': 'application/json' });
      stream.end(out);
    });
    return;
  }
  if (path === '/readyz' || path === '/livez' || path === '/healthz') {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('ok');
    return;
  }
  stream.respond(OK_HEADERS);
  stream.end(BODY);
}

function ignore(): void {}

/** A minimal TLS HTTP/2 server: 1 KiB JSON for any GET, 200 on health paths, TokenReview for BENCH_TOKEN. */
export class TinyUpstream {
  readonly #server: Http2SecureServer;
  readonly #sessions = new Set<Http2Session>();
  port = 0;

  constructor(pki: BenchPKI) {
    this.#server = createSecureServer({
      cert: readFileSync(pki.server.cert),
      key: readFileSync(pki.server.key),
      settings: { maxConcurrentStreams: 1000 },
    });
    this.#server.on('stream', onStream);
    this.#server.on('session', (s) => {
      this.#sessions.add(s);
      s.on('close', () => this.#sessions.delete(s));
    });
    // Clients cut at the end of every h2load run; those resets are expected, not failures.
    this.#server.on('sessionError', () => {});
  }

  /** Listens on a free loopback port. */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Closes the listener and every open session. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sessions) s.destroy();
    // Not unref'd: should the close callback never come (seen once with kubegate's worker threads
    // stopping), an unref'd timer would leave the harness with an empty loop and an unsettled await.
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
  }
}
