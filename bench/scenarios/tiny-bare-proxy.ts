// The runtime's floor: a bare `node:http2` proxy with kubegate's TLS and upstream pool shape (a few
// multiplexed HTTP/2 sessions per upstream, requests round robin), and nothing else — no parse,
// no authentication, no rules, no limits, no access log. Run as a program (one process, one worker
// thread per core on one SO_REUSEPORT port, as `kubegate serve` with `workers: auto`), so the bench
// samples one pid for CPU and RSS:
//   node tiny-bare-proxy.ts '<json BareProxyOptions>'
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  connect,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { stopChild, waitPort } from '../lib/haproxy.ts';

/** What the bare proxy listens on and forwards to. */
export interface BareProxyOptions {
  port: number;
  /** https URLs of the upstreams. */
  upstreams: readonly string[];
  tls: { certFile: string; keyFile: string };
  upstreamCA: string;
  credentials: { certFile: string; keyFile: string };
  /** Worker threads (default: one per core, as kubegate's `workers: auto`). */
  workers?: number;
  /** HTTP/2 sessions per upstream (default 2). */
  sessionsPerUpstream?: number;
  /** Run with `--trace-gc` and keep what it prints (`gcTrace()`). */
  traceGc?: boolean;
}

const SELF = fileURLToPath(import.meta.url);

/** The bare proxy as a child process. */
export class BareProxy {
  readonly opts: BareProxyOptions;
  #child: ChildProcess | null = null;
  #stdout = '';

  constructor(opts: BareProxyOptions) {
    this.opts = opts;
  }

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  get url(): string {
    return `https://127.0.0.1:${this.opts.port}`;
  }

  async start(): Promise<void> {
    const args = this.opts.traceGc ? ['--trace-gc'] : [];
    this.#child = spawn(process.execPath, [...args, SELF, JSON.stringify(this.opts)], {
      stdio: ['ignore', this.opts.traceGc ? 'pipe' : 'ignore', 'inherit'],
    });
    this.#stdout = '';
    this.#child.stdout?.setEncoding('utf8').on('data', (s: string) => (this.#stdout += s));
    await waitPort(this.opts.port, 10_000);
  }

  /** What `--trace-gc` printed so far (with `traceGc`). */
  gcTrace(): string {
    return this.#stdout;
  }

  async stop(): Promise<void> {
    await stopChild(this.#child, 3000);
    this.#child = null;
  }
}

// Hop-by-hop and pseudo headers a proxy must not copy (HTTP/2 forbids the connection-specific ones).
const DROPPED = new Set([
  ':status',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

function copyHeaders(from: IncomingHttpHeaders, to: OutgoingHttpHeaders): OutgoingHttpHeaders {
  for (const name in from) {
    if (DROPPED.has(name)) continue;
    const v = from[name];
    if (v !== undefined) to[name] = v;
  }
  return to;
}

/** A round-robin ring of HTTP/2 sessions to the upstreams, reconnected when one closes. */
class SessionRing {
  readonly #sessions: ClientHttp2Session[] = [];
  readonly #ca: Buffer;
  readonly #cert: Buffer;
  readonly #key: Buffer;
  #next = 0;

  constructor(opts: BareProxyOptions) {
    this.#ca = readFileSync(opts.upstreamCA);
    this.#cert = readFileSync(opts.credentials.certFile);
    this.#key = readFileSync(opts.credentials.keyFile);
    const per = opts.sessionsPerUpstream ?? 2;
    for (const url of opts.upstreams) for (let i = 0; i < per; i++) this.#sessions.push(this.#open(url));
  }

  #open(url: string): ClientHttp2Session {
    const s = connect(url, { ca: this.#ca, cert: this.#cert, key: this.#key, servername: 'localhost' });
    s.on('error', () => {});
    s.once('close', () => {
      const i = this.#sessions.indexOf(s);
      if (i >= 0) this.#sessions[i] = this.#open(url);
    });
    return s;
  }

  pick(): ClientHttp2Session {
    const s = this.#sessions[this.#next];
    this.#next = (this.#next + 1) % this.#sessions.length;
    return s;
  }
}

function serve(opts: BareProxyOptions): void {
  const ring = new SessionRing(opts);
  const server = createSecureServer({
    cert: readFileSync(opts.tls.certFile),
    key: readFileSync(opts.tls.keyFile),
    allowHTTP1: false,
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => {});
    const upstream = ring.pick();
    const out = copyHeaders(headers, {});
    let up;
    try {
      up = upstream.request(out, { endStream: stream.endAfterHeaders });
    } catch {
      stream.respond({ ':status': 502 });
      stream.end();
      return;
    }
    up.on('error', () => {
      if (!stream.headersSent && !stream.closed) {
        stream.respond({ ':status': 502 });
        stream.end();
      } else stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    });
    up.on('response', (h) => {
      if (stream.closed) return;
      stream.respond(copyHeaders(h, { ':status': h[':status'] }));
      up.pipe(stream);
    });
    if (!stream.endAfterHeaders) stream.pipe(up);
    stream.on('close', () => {
      if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
    });
  });
  server.listen({ host: '127.0.0.1', port: opts.port, reusePort: true });
}

const entry = process.argv[1] === SELF;
if (!isMainThread) serve(workerData as BareProxyOptions);
else if (entry) {
  const opts = JSON.parse(process.argv[2] ?? '{}') as BareProxyOptions;
  const n = opts.workers ?? availableParallelism();
  const workers = Array.from({ length: n }, () => new Worker(SELF, { workerData: opts }));
  process.once('SIGTERM', () => {
    for (const w of workers) void w.terminate();
  });
}
