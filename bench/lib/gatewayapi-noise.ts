import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How busy the machine was, from outside the bench's own processes' point of view. */
export interface MachineLoad {
  at: string;
  loadAverage: [number, number, number];
  /** Busy share of all CPUs over a 3 s sample (`top`), and the busiest processes in it. */
  busyPercent: number | null;
  top: string[];
}

/**
 * Load average and a 3 s `top` sample (the second iteration: the first is averaged since boot).
 * Other people's jobs share these CPUs; a run next to a heavy one is noted, not thrown away.
 */
export async function machineLoad(): Promise<MachineLoad> {
  const [a, b, c] = loadavg();
  let busyPercent: number | null = null;
  let top: string[] = [];
  try {
    const { stdout } = await run('top', ['-b', '-n', '2', '-d', '3', '-o', '%CPU', '-w', '200'], {
      timeout: 20_000,
    });
    const second = stdout.slice(stdout.lastIndexOf('top - '));
    const idle = /%Cpu\(s\):.*?([\d.]+) id/.exec(second);
    if (idle) busyPercent = Math.round((100 - Number(idle[1])) * 10) / 10;
    const lines = second.split('\n');
    const head = lines.findIndex((l) => /^\s*PID\s/.test(l));
    top = lines
      .slice(head + 1)
      .filter((l) => l.trim() !== '')
      .slice(0, 6)
      .map((l) => {
        const f = l.trim().split(/\s+/);
        return `${f[8]}% pid ${f[0]} ${commandLine(Number(f[0])) || f[11]}`;
      });
  } catch {
    // no top: the load average alone
  }
  return { at: new Date().toISOString(), loadAverage: [round2(a), round2(b), round2(c)], busyPercent, top };
}

// top names node's main thread `MainThread`; the command line says whose it is.
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 100);
  } catch {
    return '';
  }
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
