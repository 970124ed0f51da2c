import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { Agent, request as httpsRequest, type AgentOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort } from '../../src/dev/ports.ts';
import { devDir, devState, jsonLines } from './env.ts';

// SIGTERM to a `kubegate serve` process holding 200 watches (HTTP/2 and HTTP/1.1) and a few slow
// short requests: readiness goes off, HTTP/2 clients get GOAWAY, the short requests finish with the
// apiserver's own answer, then the watches end, in batches, and the process exits 0.
//
// The process is this test's own (not OwnGateway) because the test needs its exit code and a drain
// longer than the slow requests. The slow request: a LIST for a resourceVersion far beyond the
// current one (resourceVersionMatch=NotOlderThan), which kube-apiserver holds ~3 s before answering
// 504 "Too large resource version".
const BIN = fileURLToPath(new URL('../../bin/kubegate', import.meta.url));
const DRAIN_SECONDS = 8;
const DELAY_SECONDS = 1;
const H2_SESSIONS = 5;
const WATCHES_PER_SESSION = 10;
const H1_WATCHES = 150;
const WATCH = '/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=600';
const SLOW_LIST =
  '/api/v1/namespaces/default/configmaps?limit=1&resourceVersion=999999999&resourceVersionMatch=NotOlderThan';

let dir = '';
let port = 0;
let child: ChildProcess | null = null;
const sessions: ClientHttp2Session[] = [];
const agents: Agent[] = [];

function tlsOptions(): { ca: Buffer; cert: Buffer; key: Buffer } {
  const pki = join(devDir(), 'pki');
  return {
    ca: readFileSync(join(pki, 'ca.crt')),
    cert: readFileSync(join(pki, 'admin.crt')),
    key: readFileSync(join(pki, 'admin.key')),
  };
}

/** The same gateway as OwnGateway's, with this test's drain. */
function configuration(): Record<string, unknown> {
  const pki = (f: string) => join(devDir(), 'pki', f);
  const tls = { certFile: pki('gateway.crt'), keyFile: pki('gateway.key'), clientCAFile: pki('ca.crt') };
  return {
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'GatewayConfiguration',
    listeners: [{ name: 'main', address: '127.0.0.1', port, tls, cluster: 'e2e' }],
    clusters: [
      {
        name: 'e2e',
        endpoints: devState().apiservers.map((url, i) => ({ name: `apiserver-${i}`, url })),
        upstreamCA: { file: pki('ca.crt') },
        credentials: { certFile: pki('gateway-upstream.crt'), keyFile: pki('gateway-upstream.key') },
        healthCheck: { intervalSeconds: 1, timeoutSeconds: 1, rise: 1, fall: 2 },
      },
    ],
    accessLog: { path: join(dir, 'kubegate.log') },
    admin: { port: 0 }, // never the default 9443 another gateway may hold
    // 1 s of "readiness off but still serving" before the drain, as a load balancer needs.
    shutdown: { delaySeconds: DELAY_SECONDS, drainSeconds: DRAIN_SECONDS },
  };
}

/** One HTTP/1.1 request; `agent` false for a connection of its own. */
function h1(
  path: string,
  agent: Agent | false,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, agent, ...tlsOptions() });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function h2(s: ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = s.request({ ':path': path });
    let status = 0;
    const chunks: Buffer[] = [];
    r.on('response', (h) => (status = Number(h[':status'])));
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString() }));
    r.on('error', reject);
  });
}

/** A watch through the gateway, and how and when it ended. */
class Watch {
  readonly proto: 'h2' | 'http/1.1';
  status = 0;
  /** Ended with the end of its body (END_STREAM, last chunk), not cut. */
  clean = false;
  closedAt = 0;
  readonly established: Promise<void>;
  readonly closed: Promise<void>;
  #established!: (v: void) => void;
  #failed!: (e: Error) => void;
  #closed!: (v: void) => void;

  constructor(proto: 'h2' | 'http/1.1') {
    this.proto = proto;
    this.established = new Promise((resolve, reject) => {
      this.#established = resolve;
      this.#failed = reject;
    });
    this.closed = new Promise((resolve) => (this.#closed = resolve));
  }

  static overH2(s: ClientHttp2Session): Watch {
    const w = new Watch('h2');
    const r = s.request({ ':path': WATCH });
    r.on('response', (h) => {
      w.status = Number(h[':status']);
      w.#established();
    });
    r.resume();
    let ended = false;
    r.on('end', () => (ended = true));
    r.on('error', (e) => w.#failed(e));
    // Node ends the readable side also when the session dies under the stream: only END_STREAM
    // from the server (rstCode NO_ERROR) is a clean end.
    r.on('close', () => {
      w.clean = ended && r.rstCode === constants.NGHTTP2_NO_ERROR;
      w.#close();
    });
    return w;
  }

  static overH1(): Watch {
    const w = new Watch('http/1.1');
    const req = httpsRequest({ host: '127.0.0.1', port, path: WATCH, agent: false, ...tlsOptions() });
    req.on('response', (res) => {
      w.status = res.statusCode!;
      w.#established();
      res.resume();
      res.on('end', () => (w.clean = true));
      res.on('error', () => {});
      res.on('close', () => w.#close());
    });
    req.on('error', (e) => {
      w.#failed(e);
      w.#close();
    });
    req.end();
    return w;
  }

  #close(): void {
    if (this.closedAt === 0) this.closedAt = performance.now();
    this.#closed();
  }
}

async function waitReady(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child?.exitCode !== null) throw new Error(`kubegate serve exited with ${child?.exitCode}`);
    const ok = await h1('/readyz', false).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await sleep(200);
  }
  throw new Error('kubegate serve did not answer /readyz within 30s');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-drain-'));
  port = await freePort();
  const file = join(dir, 'kubegate.yaml');
  await writeFile(file, stringify(configuration()));
  child = spawn(BIN, ['serve', '-f', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitReady();
});

after(async () => {
  for (const s of sessions) s.destroy();
  for (const a of agents) a.destroy();
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('SIGTERM: readiness off, GOAWAY, short requests answered, then watches ended in batches, exit 0', async (t) => {
  const c = child!;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) =>
    c.once('exit', (code, signal) => r({ code, signal, at: performance.now() })),
  );
  const goaways: number[] = [];
  for (let i = 0; i <= H2_SESSIONS; i++) {
    const s = connect(`https://127.0.0.1:${port}`, tlsOptions());
    s.on('error', () => {});
    s.on('goaway', () => goaways.push(performance.now()));
    sessions.push(s);
  }
  const watches: Watch[] = [];
  for (const s of sessions.slice(1))
    for (let i = 0; i < WATCHES_PER_SESSION; i++) watches.push(Watch.overH2(s));
  for (let i = 0; i < H1_WATCHES; i++) {
    watches.push(Watch.overH1());
    if (i % 25 === 24) await sleep(50); // keep the handshakes modest on a shared machine
  }
  await Promise.all(watches.map((w) => w.established));
  assert.deepEqual(new Set(watches.map((w) => w.status)), new Set([200]));

  // Slow short requests in flight: two over HTTP/2, one over an HTTP/1.1 keep-alive connection
  // that asks /readyz as soon as its answer is in, and a later one that keeps the drain open.
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1, ...tlsOptions() } as AgentOptions);
  agents.push(keepAlive);
  const shortDone: number[] = [];
  const timed = <T>(p: Promise<T>) =>
    p.then((v) => {
      shortDone.push(performance.now());
      return v;
    });
  const slowH2 = [timed(h2(sessions[0], SLOW_LIST)), timed(h2(sessions[0], SLOW_LIST))];
  const slowH1 = timed(h1(SLOW_LIST, keepAlive));
  // The drain closes HTTP/1.1 keep-alive connections after their answer (HTTP/1.1's GOAWAY).
  await sleep(700);
  const slowLate = timed(h2(sessions[0], SLOW_LIST));
  await sleep(300);

  const sigterm = performance.now();
  c.kill('SIGTERM');
  await sleep(100);
  const newConnection = await newConnectionReadyz();

  const shorts = await Promise.all([...slowH2, slowH1, slowLate]);
  for (const r of shorts) {
    assert.equal(r.status, 504, r.body);
    assert.match(r.body, /Too large resource version/, "the apiserver's own answer");
  }
  const h1Slow = await slowH1;
  assert.equal(
    h1Slow.headers.connection,
    'close',
    'an HTTP/1.1 answer during the drain closes its connection',
  );
  assert.match(
    newConnection,
    /^\/readyz 503 .*shutting down/,
    `a new connection during the delay: ${newConnection}`,
  );

  await Promise.all(watches.map((w) => w.closed));
  const { code, signal, at } = await exited;
  assert.equal(signal, null);
  assert.equal(code, 0);

  assert.equal(goaways.length, sessions.length, 'every HTTP/2 session got GOAWAY');
  const goawayMs = Math.max(...goaways) - sigterm;
  assert.ok(goawayMs < DELAY_SECONDS * 1000 + 1000, `GOAWAY ${goawayMs} ms after SIGTERM`);

  const lastShort = Math.max(...shortDone);
  const closes = watches.map((w) => w.closedAt).sort((a, b) => a - b);
  const firstWatchEnd = closes[0];
  assert.ok(
    firstWatchEnd >= lastShort,
    `a watch ended ${lastShort - firstWatchEnd} ms before the last short request`,
  );
  const spanMs = closes[closes.length - 1] - firstWatchEnd;
  // Batches: runs of ends with less than 5 ms between neighbours.
  let batches = 1;
  for (let i = 1; i < closes.length; i++) if (closes[i] - closes[i - 1] >= 5) batches++;
  assert.ok(spanMs > 20, `watches ended within ${spanMs} ms: not in batches`);
  // A cut body stops some clients for good (the client-node informer); an ended one is resumed.
  const cut = watches.filter((w) => !w.clean).map((w) => w.proto);
  assert.deepEqual(cut, [], 'every watch ended cleanly');
  const exitMs = at - sigterm;
  assert.ok(exitMs < (DELAY_SECONDS + DRAIN_SECONDS + 3) * 1000, `exit ${exitMs} ms after SIGTERM`);

  const log = jsonLines(join(dir, 'kubegate.log'));
  const slowLogged = log.filter((l) => l.kind === 'access' && l.uri === SLOW_LIST);
  assert.equal(slowLogged.length, 4, 'the short requests are in the access log');
  const watchLogged = log.filter((l) => l.kind === 'access' && l.uri === WATCH);
  assert.equal(watchLogged.length, watches.length, 'every watch is in the access log');
  for (const l of watchLogged) {
    assert.equal(l.status, 200);
    assert.equal(l.error, 'kubegate is shutting down');
  }
  t.diagnostic(
    `GOAWAY on ${goaways.length} sessions ≤ ${goawayMs.toFixed(0)} ms after SIGTERM; ` +
      `new connection during drain: ${newConnection}; ` +
      `short requests done ${(lastShort - sigterm).toFixed(0)} ms after SIGTERM; ` +
      `${watches.length} watches ended ${(firstWatchEnd - sigterm).toFixed(0)}–${(closes[closes.length - 1] - sigterm).toFixed(0)} ms after SIGTERM ` +
      `(span ${spanMs.toFixed(0)} ms, ${batches} runs ≥ 5 ms apart, all ended cleanly); ` +
      `exit ${String(code)} ${exitMs.toFixed(0)} ms after SIGTERM (drain ${DRAIN_SECONDS} s)`,
  );
});

/** What a client opening a new connection during the drain gets for /readyz. */
async function newConnectionReadyz(): Promise<string> {
  return h1('/readyz', false).then(
    (r) => {
      assert.notEqual(r.status, 200, 'a new connection was told the gateway is ready while draining');
      return `/readyz ${r.status} ${r.body}`;
    },
    (e: NodeJS.ErrnoException) => `refused (${e.code ?? e.message})`,
  );
}
