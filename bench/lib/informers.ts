import { readdirSync, readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { parseProtobufList } from '../../src/share/protobuf-items.ts';

/** What kube-proxy and the kubelet send: protobuf, JSON for types without it. */
const ACCEPT = 'application/vnd.kubernetes.protobuf, */*';

/** One informer's start: when its LIST was in, when its WATCH was answered (ms after the start), or why not. */
export interface InformerStart {
  listedMs: number | null;
  watchingMs: number | null;
  error: string | null;
}

/**
 * Many client-go-style informers starting at once: each sends LIST `?resourceVersion=0` in
 * protobuf, reads it whole, then WATCH from the list's resourceVersion with bookmarks, as a
 * reflector does. They share `sessions` HTTP/2 connections spread over `urls` (round-robin, as an
 * L4 balancer spreads clients).
 */
export class Informers {
  readonly #sessions: ClientHttp2Session[] = [];
  readonly #watches: ClientHttp2Stream[] = [];

  constructor(urls: readonly string[], sessions: number, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }) {
    for (let i = 0; i < sessions; i++) {
      const s = connect(urls[i % urls.length]!, { ...tls, servername: 'localhost' });
      s.on('error', () => {});
      this.#sessions.push(s);
    }
  }

  /** Starts `count` informers on collection `path` with `token`; resolves when each is watching or failed. */
  async start(count: number, path: string, token: string): Promise<InformerStart[]> {
    const t0 = performance.now();
    const one = async (i: number): Promise<InformerStart> => {
      const s = this.#sessions[i % this.#sessions.length]!;
      const out: InformerStart = { listedMs: null, watchingMs: null, error: null };
      try {
        const list = await get(s, `${path}?resourceVersion=0`, token);
        if (list.status !== 200) throw new Error(`LIST ${list.status}`);
        const rv = parseProtobufList(list.body).rv!;
        out.listedMs = performance.now() - t0;
        const w = s.request({
          ':path': `${path}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=600`,
          authorization: `Bearer ${token}`,
          accept: ACCEPT,
        });
        w.on('error', () => {});
        w.resume();
        this.#watches.push(w);
        const status = await new Promise<number>((resolve) => {
          w.once('response', (h) => resolve(Number(h[':status'])));
          w.once('close', () => resolve(0));
        });
        if (status !== 200) throw new Error(`WATCH ${status}`);
        out.watchingMs = performance.now() - t0;
      } catch (err) {
        out.error = (err as Error).message;
      }
      return out;
    };
    return Promise.all(Array.from({ length: count }, (_, i) => one(i)));
  }

  close(): void {
    for (const w of this.#watches) w.close();
    for (const s of this.#sessions) s.destroy();
  }
}

function get(s: ClientHttp2Session, path: string, token: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = s.request({ ':path': path, authorization: `Bearer ${token}`, accept: ACCEPT });
    const chunks: Buffer[] = [];
    let status = 0;
    r.on('response', (h) => (status = Number(h[':status'])));
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
    r.on('error', reject);
  });
}

/** The pids of the processes whose command line has every one of `parts` (e.g. kube-apiserver and a dev folder). */
export function pidsOf(...parts: string[]): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (parts.every((p) => cmd.includes(p))) out.push(Number(name));
  }
  return out;
}

/**
 * Series `metric` of one resource by verb, summed over the apiservers (their /metrics, as admin):
 * `apiserver_request_total` (counted as a request ends) or `apiserver_longrunning_requests` (open now).
 */
export async function apiserverMetric(
  urls: readonly string[],
  metric: string,
  resource: string,
  tls: { ca: Buffer; cert: Buffer; key: Buffer },
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const url of urls) {
    const s = connect(url, { ...tls, servername: 'localhost' });
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const r = s.request({ ':path': '/metrics' });
        let t = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (t += c));
        r.on('end', () => resolve(t));
        r.on('error', reject);
      });
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${metric}{`) || !line.includes(`resource="${resource}"`)) continue;
        const verb = /verb="([A-Z]+)"/.exec(line)?.[1] ?? '?';
        out[verb] = (out[verb] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    } finally {
      s.close();
    }
  }
  return out;
}
