import type { V1Probe } from '@kubernetes/client-node';
import { runProbe, type ProbeContext, type ProbeResult } from './probe.ts';

// One probe of one container on its schedule, as a kubelet probe worker (pkg/kubelet/prober/worker.go):
// first run after initialDelaySeconds, then every periodSeconds; the result changes only after
// successThreshold successes or failureThreshold failures in a row.

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

export interface ProberOptions {
  /** How one run is done (default runProbe). */
  readonly run?: (probe: V1Probe, ctx: ProbeContext) => Promise<ProbeResult>;
  /** Milliseconds per probe "second" (default 1000; tests shrink it). */
  readonly secondMs?: number;
}

/**
 * Calls `onChange(value, message)` only when the probe's result changes: readiness starts not ready
 * (false); liveness and startup start unknown and report their first result once a threshold is reached.
 * Like the kubelet, a liveness or startup probe stops after reporting failure (the container is restarted
 * and gets a new Prober), and a startup probe stops once it has succeeded.
 */
export class Prober {
  readonly kind: ProbeKind;
  readonly #probe: V1Probe;
  readonly #ctx: ProbeContext;
  readonly #onChange: (value: boolean, message: string) => void;
  readonly #run: (probe: V1Probe, ctx: ProbeContext) => Promise<ProbeResult>;
  readonly #secondMs: number;
  #value: boolean | undefined;
  #last: boolean | undefined;
  #run_length = 0;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #started = false;

  constructor(
    probe: V1Probe,
    kind: ProbeKind,
    ctx: ProbeContext,
    onChange: (value: boolean, message: string) => void,
    opts: ProberOptions = {},
  ) {
    this.#probe = probe;
    this.kind = kind;
    this.#ctx = ctx;
    this.#onChange = onChange;
    this.#run = opts.run ?? runProbe;
    this.#secondMs = opts.secondMs ?? 1000;
    this.#value = kind === 'readiness' ? false : undefined;
  }

  /** The current result: true/false, or undefined while a liveness/startup probe has not decided. */
  get value(): boolean | undefined {
    return this.#value;
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#schedule((this.#probe.initialDelaySeconds ?? 0) * this.#secondMs);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), Math.max(0, ms));
  }

  async #tick(): Promise<void> {
    this.#timer = null;
    const began = Date.now();
    let result: ProbeResult;
    try {
      result = await this.#run(this.#probe, this.#ctx);
    } catch (err) {
      result = { ok: false, message: (err as Error).message };
    }
    if (this.#stopped) return;
    if (this.#observe(result)) {
      const period = Math.max(1, this.#probe.periodSeconds ?? 10) * this.#secondMs;
      this.#schedule(began + period - Date.now());
    }
  }

  /** Applies one result; false when probing should stop. */
  #observe(result: ProbeResult): boolean {
    if (this.#last === result.ok) this.#run_length++;
    else {
      this.#last = result.ok;
      this.#run_length = 1;
    }
    const threshold = result.ok
      ? Math.max(1, this.#probe.successThreshold ?? 1)
      : Math.max(1, this.#probe.failureThreshold ?? 3);
    if (this.#run_length < threshold) return true;
    if (this.#value !== result.ok) {
      this.#value = result.ok;
      this.#onChange(result.ok, result.message);
    }
    if (!result.ok && this.kind !== 'readiness') return false;
    if (result.ok && this.kind === 'startup') return false;
    return true;
  }
}
