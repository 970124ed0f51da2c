import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Established TCP connections of process `pid`, counted per remote port of interest. */
export async function connectionsTo(pid: number, ports: readonly number[]): Promise<Record<string, number>> {
  // -H no header; columns: Recv-Q Send-Q Local Peer Process (the process only with -p).
  const { stdout } = await run('ss', ['-Htnp', 'state', 'established'], {
    timeout: 10_000,
    maxBuffer: 64 << 20,
  });
  const counts: Record<string, number> = Object.fromEntries(ports.map((p) => [String(p), 0]));
  const mark = `pid=${pid},`;
  for (const line of stdout.split('\n')) {
    if (!line.includes(mark)) continue;
    const cols = line.trim().split(/\s+/);
    const peer = cols[3] ?? '';
    const port = peer.slice(peer.lastIndexOf(':') + 1);
    if (port in counts) counts[port]! += 1;
  }
  return counts;
}

/** Established connections whose local port is `port` (clients of a listener), any process. */
export async function connectionsOn(port: number): Promise<number> {
  const { stdout } = await run('ss', ['-Htn', 'state', 'established', `sport = :${port}`], {
    timeout: 10_000,
    maxBuffer: 64 << 20,
  });
  return stdout.split('\n').filter((l) => l.trim() !== '').length;
}
