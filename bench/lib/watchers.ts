import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { percentile } from './stats.ts';

/** Many watch streams over a few HTTP/2 sessions; records when each first sees data after a mark. */
export class Watchers {
  readonly #sessions: ClientHttp2Session[] = [];
  readonly #streams: ClientHttp2Stream[] = [];
  #mark = 0;
  #seen: number[] = [];
  #seenSinceMark = new Set<number>();
  opened = 0;
  errors = 0;
  /** Response statuses of the watch requests, by code ('reset' when no response came). */
  readonly statuses: Record<string, number> = {};

  /**
   * Opens `count` watches of `path` on `sessions` connections, with a bearer token; the connections
   * go round-robin to `urls` (one gateway, or the apiservers as an L4 balancer spreads clients).
   */
  async open(
    urls: string | readonly string[],
    path: string,
    token: string,
    count: number,
    sessions: number,
    ca: Buffer,
  ): Promise<void> {
    const targets = typeof urls === 'string' ? [urls] : urls;
    for (let i = 0; i < sessions; i++) {
      const s = connect(targets[i % targets.length]!, { ca, servername: 'localhost' });
      s.on('error', () => (this.errors += 1));
      this.#sessions.push(s);
    }
    const headers = { ':path': path, authorization: `Bearer ${token}`, accept: 'application/json' };
    const started: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const st = this.#sessions[i % sessions]!.request(headers, { endStream: true });
      const id = i;
      st.on('data', () => this.#onData(id));
      st.on('error', () => (this.errors += 1));
      started.push(
        new Promise<void>((resolve) => {
          st.once('response', (h) => {
            const code = String(h[':status']);
            this.statuses[code] = (this.statuses[code] ?? 0) + 1;
            if (code === '200') this.opened += 1;
            else this.errors += 1;
            resolve();
          });
          st.once('close', () => {
            if (st.rstCode !== 0 && this.opened + this.errors < this.#streams.length)
              this.statuses['reset'] = (this.statuses['reset'] ?? 0) + 1;
            resolve();
          });
        }),
      );
      this.#streams.push(st);
      // A ramp of 2000 watches/s, not one burst: clients reconnecting after a restart are spread out too.
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(started);
  }

  #onData(id: number): void {
    if (this.#mark === 0 || this.#seenSinceMark.has(id)) return;
    this.#seenSinceMark.add(id);
    this.#seen.push(performance.now() - this.#mark);
  }

  /** Starts timing: the next data on each stream counts as the event of the write made now. */
  mark(): void {
    this.#mark = performance.now();
    this.#seen = [];
    this.#seenSinceMark.clear();
  }

  /** Delays (ms) since `mark` of every stream that saw data: count, p50, p99, max. */
  delays(): { received: number; p50: number; p99: number; max: number } {
    const d = [...this.#seen].sort((a, b) => a - b);
    return {
      received: d.length,
      p50: percentile(d, 50),
      p99: percentile(d, 99),
      max: d[d.length - 1] ?? Number.NaN,
    };
  }

  /** Every delay (ms) since `mark`, in arrival order. */
  times(): number[] {
    return [...this.#seen];
  }

  /** Cancels every stream and closes every session. */
  close(): void {
    for (const st of this.#streams) st.close();
    for (const s of this.#sessions) s.destroy();
  }
}
