import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// The bench's clients inside a node's network namespace (`ip netns exec`): tcp-prober.ts and
// netns-client.ts, started from here and read back as numbers.

const run = promisify(execFile);
const TCP_PROBER = fileURLToPath(new URL('./tcp-prober.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('./netns-client.ts', import.meta.url));

/** A probe running in a namespace: `ready` once it probes, `at` the ms it printed (null: timed out). */
export interface RunningProbe {
  ready: Promise<void>;
  at: Promise<number | null>;
}

function startProbe(netns: string, script: string, args: readonly string[]): RunningProbe {
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => (readyResolve = r));
  let at: number | null = null;
  lines.on('line', (l) => (l === 'probing' ? readyResolve() : (at = Number(l))));
  const done = new Promise<number | null>((r) =>
    child.once('close', () => {
      readyResolve();
      r(at);
    }),
  );
  return { ready, at: done };
}

/** First TCP connection to ip:port that opens (a try every 5 ms). */
export function tcpProbe(netns: string, ip: string, port: number, timeoutMs: number): RunningProbe {
  return startProbe(netns, TCP_PROBER, [ip, String(port), String(timeoutMs)]);
}

/** First `/hostname` answer from pod `name` through ip:port. */
export function untilAnswers(
  netns: string,
  ip: string,
  port: number,
  name: string,
  timeoutMs: number,
): RunningProbe {
  return startProbe(netns, CLIENT, ['until', ip, String(port), String(timeoutMs), name]);
}

/** The last `/hostname` answer from pod `name` before `others` answers in a row came from other pods. */
export function untilGone(
  netns: string,
  ip: string,
  port: number,
  name: string,
  others: number,
  timeoutMs: number,
): RunningProbe {
  return startProbe(netns, CLIENT, ['gone', ip, String(port), String(timeoutMs), name, String(others)]);
}

async function clientJSON<T>(netns: string, args: readonly string[], timeoutMs: number): Promise<T> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, process.execPath, CLIENT, ...args], {
    timeout: timeoutMs,
  });
  return JSON.parse(stdout) as T;
}

/** `/hostname` answers of `n` requests (one connection each), by pod; failures under `errors`. */
export function countAnswers(
  netns: string,
  ip: string,
  port: number,
  n: number,
): Promise<Record<string, number>> {
  return clientJSON(netns, ['count', ip, String(port), String(n)], 120_000);
}

/** Whether every ip answers `/hostname` on `port` within `timeoutMs` (each retried until then). */
export function sweep(
  netns: string,
  ips: readonly string[],
  port: number,
  timeoutMs: number,
): Promise<{ answered: number; failed: string[]; ms: number }> {
  return clientJSON(netns, ['sweep', String(port), String(timeoutMs), ...ips], timeoutMs + 30_000);
}
