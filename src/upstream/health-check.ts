import type { Endpoint } from './endpoint.ts';

/** Active health checking of an endpoint. */
export interface HealthCheckOptions {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive successes that bring an endpoint back. */
  rise: number;
  /** Consecutive failures that take it out. */
  fall: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckOptions = {
  path: '/readyz',
  intervalMs: 2000,
  timeoutMs: 1000,
  rise: 1,
  fall: 2,
};

/** Probes one endpoint's `/readyz` on an interval over its own session pool. */
export class HealthCheck {
  readonly #ep: Endpoint;
  readonly #opts: HealthCheckOptions;
  readonly options: HealthCheckOptions;
  /** Called on every health change; a reloaded Upstream re-points it at itself. */
  onChange: (ep: Endpoint) => void;
  /**
   * The gateway's bearer token upstream, when it uses one (a reloaded Upstream sets the current
   * one). Probes carry it: kube-apiserver answers an anonymous HTTP/2 request with
   * `Connection: close` (UnauthenticatedHTTP2DOSMitigation), a GOAWAY for the whole session, so an
   * anonymous probe on a session without a client certificate ended that session every interval,
   * refusing the client streams racing it and ending the watches on it.
   */
  token: string | undefined = undefined;
  #ok = 0;
  #failed = 0;
  #timer: NodeJS.Timeout | null = null;
  #running = false;

  constructor(ep: Endpoint, opts: HealthCheckOptions, onChange: (ep: Endpoint) => void = () => {}) {
    this.#ep = ep;
    this.#opts = opts;
    this.options = opts;
    this.onChange = onChange;
  }

  /** Probes once now, then on every interval. Resolves after the first probe. */
  async start(): Promise<void> {
    await this.probe();
    this.#timer = setInterval(() => void this.probe(), this.#opts.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One probe; updates the endpoint's health by the rise/fall counts. */
  async probe(): Promise<boolean> {
    if (this.#running) return this.#ep.healthy;
    this.#running = true;
    let ok: boolean;
    try {
      ok = await this.#request();
    } finally {
      this.#running = false;
    }
    const ep = this.#ep;
    if (ok) {
      this.#failed = 0;
      this.#ok++;
      if (!ep.healthy && this.#ok >= this.#opts.rise) {
        ep.admit();
        this.onChange(ep);
      }
    } else {
      this.#ok = 0;
      this.#failed++;
      if (ep.healthy && this.#failed >= this.#opts.fall) {
        ep.eject('health-check');
        this.onChange(ep);
      }
    }
    return ok;
  }

  async #request(): Promise<boolean> {
    const pool = this.#ep.pool;
    let h2;
    try {
      h2 = await withTimeout(pool.acquire(), this.#opts.timeoutMs);
    } catch {
      return false;
    }
    try {
      return await new Promise<boolean>((resolve) => {
        const headers: Record<string, string> = {
          ':method': 'GET',
          ':path': this.#opts.path,
          'user-agent': 'kubegate-health-check',
        };
        if (this.token) headers.authorization = `Bearer ${this.token}`;
        const stream = h2.request(headers);
        const t = setTimeout(() => {
          stream.close();
          resolve(false);
        }, this.#opts.timeoutMs);
        stream.on('response', (headers) => {
          clearTimeout(t);
          resolve(headers[':status'] === 200);
          stream.resume();
        });
        stream.on('error', () => {
          clearTimeout(t);
          resolve(false);
        });
        stream.end();
      });
    } finally {
      pool.release(h2);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
