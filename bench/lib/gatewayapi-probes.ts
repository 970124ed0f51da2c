import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stopChild } from './haproxy.ts';
import type { ProbeReport, ProbeSpec } from './gatewayapi-prober.ts';

const PROBER = fileURLToPath(new URL('./gatewayapi-prober.ts', import.meta.url));

/** A probe under way: `answered` when its first request was answered (any status), `served` at its first 200. */
export interface RunningProbe {
  answered: Promise<number>;
  /** Resolves with the CLOCK_MONOTONIC time (ns) of the first 200; rejects on timeout. */
  served: Promise<bigint>;
}

/** Where and how often a probe asks (defaults: port 80, `/`, no extra headers, every 2 ms, for 60 s). */
export interface ProbeOptions {
  port?: number;
  path?: string;
  headers?: Record<string, string>;
  intervalMs?: number;
  timeoutMs?: number;
}

/** The probe timed out without a 200. */
export class ProbeTimeoutError extends Error {
  override name = 'ProbeTimeoutError';
}

interface Pending {
  answered: (status: number) => void;
  served: (at: bigint) => void;
  failed: (err: Error) => void;
}

/**
 * The prober process, started once in the underlay namespace (`ip netns exec … node`), so its
 * requests come from outside the Gateway host like a client's.
 */
export class Prober {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  /** `netnsExec` is the `ip netns exec <ns>` prefix to run node in. */
  constructor(netnsExec: [string, string[]]) {
    const [cmd, args] = netnsExec;
    this.#child = spawn(cmd, [...args, process.execPath, PROBER], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => this.#onLine(line));
    this.#child.once('exit', (code, signal) => {
      for (const p of this.#pending.values()) p.failed(new Error(`prober exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  /** Starts probing http://address:port/path with Host `host` every `intervalMs` until 200. */
  probe(address: string, host: string, opts: ProbeOptions = {}): RunningProbe {
    const id = this.#nextId++;
    let answered!: (s: number) => void;
    let served!: (at: bigint) => void;
    let failed!: (err: Error) => void;
    const a = new Promise<number>((res) => (answered = res));
    const s = new Promise<bigint>((res, rej) => {
      served = res;
      failed = rej;
    });
    s.catch(() => {}); // a caller that awaits only `answered` still sees the rejection when it awaits `served`
    this.#pending.set(id, { answered, served, failed });
    const spec: ProbeSpec = {
      id,
      address,
      host,
      port: opts.port ?? 80,
      path: opts.path ?? '/',
      headers: opts.headers ?? {},
      intervalMs: opts.intervalMs ?? 2,
      timeoutMs: opts.timeoutMs ?? 60_000,
    };
    this.#child.stdin!.write(JSON.stringify(spec) + '\n');
    return { answered: a, served: s };
  }

  #onLine(line: string): void {
    const r = JSON.parse(line) as ProbeReport;
    const p = this.#pending.get(r.id);
    if (!p) return;
    if (r.answered !== undefined) p.answered(r.answered);
    if (r.ok === true) {
      p.answered(200);
      p.served(BigInt(r.at!));
      this.#pending.delete(r.id);
    } else if (r.ok === false) {
      p.answered(r.lastStatus ?? 0);
      p.failed(
        new ProbeTimeoutError(
          `no 200 for probe ${r.id} (${r.tries} tries, last ${r.lastStatus}, ${r.errors} errors)`,
        ),
      );
      this.#pending.delete(r.id);
    }
  }

  /** Ends stdin (the prober exits), then SIGTERM/SIGKILL if it lingers. */
  async stop(): Promise<void> {
    this.#child.stdin!.end();
    await stopChild(this.#child, 3000);
  }
}
