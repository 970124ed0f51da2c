import { processUsage } from './process-usage.ts';

const WINDOW_MS = 500;
/** Below 5% of a core over a window counts as idle. */
const IDLE_CPU_MICROS = WINDOW_MS * 1000 * 0.05;

/**
 * Waits until process `pid` used under 5% of a core in two 500 ms windows in a row (or `timeoutMs`
 * passed): a status write makes the controller translate once more after the status is visible, and
 * a measurement started meanwhile would wait for that translation too. Returns the time waited (ms).
 */
export async function waitIdle(pid: number, timeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  let quiet = 0;
  let last = processUsage(pid).cpuMicros;
  while (quiet < 2 && performance.now() - t0 < timeoutMs) {
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const now = processUsage(pid).cpuMicros;
    quiet = now - last < IDLE_CPU_MICROS ? quiet + 1 : 0;
    last = now;
  }
  return performance.now() - t0;
}
