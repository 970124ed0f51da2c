import { readFileSync } from 'node:fs';

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream architecture.
const TICK_US = 10_000;

/** CPU time (user+system, µs) and resident memory (KiB) of one process, read from /proc. */
export interface ProcessUsage {
  cpuMicros: number;
  rssKiB: number;
}

/** Reads /proc/<pid>/stat and /proc/<pid>/status. */
export function processUsage(pid: number): ProcessUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may contain spaces, end at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /^VmRSS:\s+(\d+)/m.exec(status);
  return { cpuMicros: (utime + stime) * TICK_US, rssKiB: rss ? Number(rss[1]) : 0 };
}
