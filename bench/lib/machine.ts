import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';

/** What the numbers were measured on; printed at the top of every summary. */
export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
  h2load: string;
  haproxy: string;
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return (
      execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0] ?? ''
    );
  } catch {
    return 'missing';
  }
}

/** Reads CPU count and model (/proc/cpuinfo), Node, kernel and tool versions. */
export function describeMachine(): Machine {
  let cpuModel = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpuModel = m[1].trim();
  } catch {
    // not Linux: keep 'unknown'
  }
  return {
    cpus: availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    h2load: firstLine('h2load', ['--version']),
    haproxy: firstLine('haproxy', ['-v']).replace(/ - https.*$/, ''),
  };
}
