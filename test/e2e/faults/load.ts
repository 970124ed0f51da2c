import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { devDir } from '../env.ts';

// Shared by the fault scenarios: well-behaved clients (open-loop load at a fixed rate, every request
// with a timeout), what they saw, and the gateway's memory from its admin `/metrics`.

/** How one request ended. `timeout` is the client's own: the gateway left it unanswered too long. */
export type Outcome = 'ok' | `status-${number}` | 'transport' | 'timeout';

interface Result {
  sentAt: number;
  ms: number;
  outcome: Outcome;
}

/** TLS material of cluster A's admin (the gateways of these tests trust cluster A's CA). */
export function adminTLS(dir = devDir()): { ca: Buffer; cert: Buffer; key: Buffer } {
  return {
    ca: readFileSync(join(dir, 'pki', 'ca.crt')),
    cert: readFileSync(join(dir, 'pki', 'admin.crt')),
    key: readFileSync(join(dir, 'pki', 'admin.key')),
  };
}

/**
 * A client of one or more gateway URLs: one HTTP/2 session at a time, a new one when it closes or
 * gets GOAWAY, and, with several URLs, the next URL after a transport error (a client-side failover
 * as kubectl behind a DNS name with two addresses does on reconnect).
 */
export class FailoverClient {
  readonly #urls: readonly string[];
  readonly #tls: { ca: Buffer; cert: Buffer; key: Buffer };
  #i = 0;
  #session: ClientHttp2Session | null = null;
  readonly #all = new Set<ClientHttp2Session>();
  /** Times the client moved to another URL. */
  switches = 0;

  constructor(urls: readonly string[], tls = adminTLS()) {
    this.#urls = urls;
    this.#tls = tls;
  }

  #current(): ClientHttp2Session {
    const s = this.#session;
    if (s && !s.closed && !s.destroyed) return s;
    const next = connect(this.#urls[this.#i], this.#tls);
    next.on('error', () => this.#failover(next));
    next.on('goaway', () => this.#retire(next));
    next.on('close', () => {
      this.#all.delete(next);
      this.#retire(next);
    });
    this.#all.add(next);
    this.#session = next;
    return next;
  }

  #retire(s: ClientHttp2Session): void {
    if (this.#session === s) this.#session = null;
  }

  #failover(s: ClientHttp2Session): void {
    if (this.#session !== s) return;
    this.#session = null;
    if (this.#urls.length > 1) {
      this.#i = (this.#i + 1) % this.#urls.length;
      this.switches++;
    }
  }

  /** GET `path`; never rejects, always ends by `timeoutMs`. */
  get(path: string, timeoutMs: number): Promise<{ outcome: Outcome; ms: number }> {
    const start = performance.now();
    return new Promise((resolve) => {
      let done = false;
      const end = (outcome: Outcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ outcome, ms: performance.now() - start });
      };
      const s = this.#current();
      const timer = setTimeout(() => {
        end('timeout');
        r.close(constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      const r = s.request({ ':path': path });
      let status = 0;
      r.on('response', (h) => (status = Number(h[':status'])));
      r.resume();
      // No headers before the end: the stream was refused or reset (e.g. after GOAWAY).
      r.on('end', () => end(status === 0 ? 'transport' : status === 200 ? 'ok' : `status-${status}`));
      r.on('error', () => {
        this.#failover(s);
        end('transport');
      });
      r.on('close', () => end(status === 0 ? 'transport' : status === 200 ? 'ok' : `status-${status}`));
    });
  }

  close(): void {
    for (const s of this.#all) s.destroy();
    this.#all.clear();
  }
}

/** Open-loop load: `rate` GETs per second on schedule, whatever the answers, each with a timeout. */
export class OpenLoopLoad {
  readonly #client: FailoverClient;
  readonly #paths: readonly string[];
  readonly #rate: number;
  readonly timeoutMs: number;
  readonly results: Result[] = [];
  readonly #inflight = new Set<Promise<void>>();
  #running = false;
  #loop: Promise<void> | null = null;
  readonly t0 = performance.now();

  constructor(client: FailoverClient, opts: { rate: number; timeoutMs: number; paths: readonly string[] }) {
    this.#client = client;
    this.#paths = opts.paths;
    this.#rate = opts.rate;
    this.timeoutMs = opts.timeoutMs;
  }

  /** Milliseconds since the load was created, the time base of `results` and of the marks. */
  now(): number {
    return performance.now() - this.t0;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const begin = this.now();
    let sent = 0;
    while (this.#running) {
      const due = Math.floor(((this.now() - begin) * this.#rate) / 1000);
      for (; sent < due; sent++) {
        const sentAt = this.now();
        const path = this.#paths[sent % this.#paths.length];
        const p = this.#client.get(path, this.timeoutMs).then((r) => {
          this.results.push({ sentAt, ms: r.ms, outcome: r.outcome });
          this.#inflight.delete(p);
        });
        this.#inflight.add(p);
      }
      await sleep(Math.max(1, Math.floor(1000 / this.#rate)));
    }
  }

  /** Stops sending and waits for every request in flight (each ends by its timeout). */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await Promise.all([...this.#inflight]);
  }

  /** Results of requests sent at or after `from` (ms on this load's clock). */
  since(from: number): Result[] {
    return this.results.filter((r) => r.sentAt >= from);
  }

  /**
   * Milliseconds from `faultEnd` until the first request after which every request succeeded: 0
   * when nothing failed after the fault ended, null when the last request failed.
   */
  recoveryMs(faultEnd: number): number | null {
    const sorted = [...this.results].sort((a, b) => a.sentAt - b.sentAt);
    let lastBad = -1;
    for (let i = 0; i < sorted.length; i++) if (sorted[i].outcome !== 'ok') lastBad = i;
    if (lastBad === sorted.length - 1) return null;
    if (lastBad < 0) return 0;
    return Math.max(0, sorted[lastBad + 1].sentAt - faultEnd);
  }

  /** The one-line summary every scenario prints. */
  summary(scenario: string, faultEnd: number, extra: Record<string, unknown> = {}): Summary {
    const failed: Record<string, number> = {};
    let ok = 0;
    let maxMs = 0;
    for (const r of this.results) {
      maxMs = Math.max(maxMs, r.ms);
      if (r.outcome === 'ok') ok++;
      else failed[r.outcome] = (failed[r.outcome] ?? 0) + 1;
    }
    return {
      scenario,
      offered: this.results.length,
      ok,
      failed,
      maxLatencyMs: Math.round(maxMs),
      recoveryMs: this.recoveryMs(faultEnd),
      ...extra,
    };
  }
}

/** What the well-behaved clients of most scenarios GET: a small list (from etcd) and one object. */
export const STEADY_PATHS: readonly string[] = [
  '/api/v1/namespaces/default/configmaps?limit=5',
  '/api/v1/namespaces/default',
];

/** Every request ended before the client's timeout, and every failure was a clean 503/504 Status. */
export function assertCleanFailures(summary: Summary): void {
  assert.equal(summary.failed.timeout ?? 0, 0, 'every request answered before the client timeout');
  for (const kind of Object.keys(summary.failed))
    assert.ok(kind === 'status-504' || kind === 'status-503', `failure kind ${kind}: a clean Status`);
}

export interface Summary {
  scenario: string;
  offered: number;
  ok: number;
  failed: Record<string, number>;
  maxLatencyMs: number;
  recoveryMs: number | null;
  [k: string]: unknown;
}

/** The gateway's memory, in MiB, from its admin `/metrics`. */
export interface Memory {
  rssMiB: number;
  /** V8's used heap. */
  heapMiB: number;
  /** Buffers and other memory outside the V8 heap that V8 accounts for. */
  externalMiB: number;
}

/** The gateway's resident set, used heap and external memory, from its admin `/metrics`. */
export async function gatewayMemory(adminURL: string): Promise<Memory> {
  const text = await (await fetch(`${adminURL}/metrics`)).text();
  const value = (name: string): number => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
    if (!m) throw new Error(`${name} not in /metrics`);
    return Number(m[1]) / 2 ** 20;
  };
  return {
    rssMiB: round(value('kubegate_process_resident_memory_bytes')),
    heapMiB: round(value('kubegate_nodejs_heap_size_used_bytes')),
    externalMiB: round(value('kubegate_nodejs_external_memory_bytes')),
  };
}

/**
 * Memory after the load: the lowest of a few samples over `ms` (V8 collects lazily when idle, so
 * one sample right after the load shows garbage, not a leak).
 */
export async function settledMemory(adminURL: string, ms = 6000): Promise<Memory> {
  let best = await gatewayMemory(adminURL);
  for (let t = 0; t < ms; t += 1000) {
    await sleep(1000);
    const m = await gatewayMemory(adminURL);
    best = {
      rssMiB: Math.min(best.rssMiB, m.rssMiB),
      heapMiB: Math.min(best.heapMiB, m.heapMiB),
      externalMiB: Math.min(best.externalMiB, m.externalMiB),
    };
  }
  return best;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Until `probe` is true, at most `ms`; returns whether it became true. */
export async function until(
  probe: () => Promise<boolean> | boolean,
  ms: number,
  every = 200,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(every);
  }
  return probe();
}

/** Whether `url`'s `/readyz` answers 200 within 2 s (for the restored control plane). */
export function readyz(url: string, tls = adminTLS()): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(url, tls);
    const done = (ok: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), 2000);
    s.on('error', () => done(false));
    const r = s.request({ ':path': '/readyz' });
    r.on('response', (h) => done(h[':status'] === 200));
    r.on('error', () => done(false));
    r.end();
  });
}
