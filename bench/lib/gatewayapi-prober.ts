// A prober the gatewayapi bench runs "outside" (`ip netns exec <underlay> node gatewayapi-prober.ts`).
// One JSON probe per stdin line; for each it sends GETs over one keep-alive connection, one every
// `intervalMs` (the next after the previous answer), until one is answered 200, and writes JSON lines
// to stdout: `{id, answered}` after the first answer (the probe is running), then `{id, ok, at}` with
// `at` the CLOCK_MONOTONIC time (ns, as process.hrtime.bigint in any process of this machine) the
// 200 arrived. Ends when stdin ends.
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

/** One probe, as sent on stdin. */
export interface ProbeSpec {
  id: number;
  address: string;
  port: number;
  host: string;
  path: string;
  /** Extra request headers. */
  headers: Record<string, string>;
  intervalMs: number;
  timeoutMs: number;
}

/** What the prober writes back on stdout. */
export interface ProbeReport {
  id: number;
  answered?: number;
  ok?: boolean;
  at?: string;
  tries?: number;
  errors?: number;
  lastStatus?: number;
  error?: string;
}

function report(r: ProbeReport): void {
  process.stdout.write(JSON.stringify(r) + '\n');
}

/** Probes until 200 or timeout; every probe has its own connection. */
class Probe {
  readonly #spec: ProbeSpec;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 });
  readonly #deadline: number;
  #tries = 0;
  #errors = 0;
  #lastStatus = 0;
  #sentAt = 0;

  constructor(spec: ProbeSpec) {
    this.#spec = spec;
    this.#deadline = performance.now() + spec.timeoutMs;
  }

  start(): void {
    this.#send();
  }

  #send(): void {
    const s = this.#spec;
    this.#tries++;
    this.#sentAt = performance.now();
    const req = request({
      agent: this.#agent,
      host: s.address,
      port: s.port,
      path: s.path,
      headers: { ...s.headers, host: s.host },
      timeout: 5000,
    });
    req.on('response', (res) => {
      const at = process.hrtime.bigint();
      res.resume();
      this.#lastStatus = res.statusCode ?? 0;
      if (this.#tries === 1) report({ id: s.id, answered: this.#lastStatus });
      if (this.#lastStatus === 200) {
        report({ id: s.id, ok: true, at: String(at), tries: this.#tries, errors: this.#errors });
        res.on('end', () => this.#agent.destroy());
        return;
      }
      res.on('end', () => this.#next());
    });
    req.on('timeout', () => req.destroy(new Error('probe request timed out')));
    req.on('error', () => {
      this.#errors++;
      if (this.#tries === 1) report({ id: s.id, answered: 0 });
      this.#next();
    });
    req.end();
  }

  #next(): void {
    const now = performance.now();
    if (now > this.#deadline) {
      const s = this.#spec;
      report({
        id: s.id,
        ok: false,
        tries: this.#tries,
        errors: this.#errors,
        lastStatus: this.#lastStatus,
        error: 'timeout',
      });
      this.#agent.destroy();
      return;
    }
    const wait = this.#sentAt + this.#spec.intervalMs - now;
    if (wait <= 0) setImmediate(() => this.#send());
    else setTimeout(() => this.#send(), wait);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  new Probe(JSON.parse(line) as ProbeSpec).start();
});
