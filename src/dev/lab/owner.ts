import { readFileSync } from 'node:fs';
import { ipIn } from './netns.ts';
import { UNDERLAY_BRIDGE } from './constants.ts';

// A lab records which process made it in the underlay bridge's alias (no file on the host):
// `kubegate-lab pid=<pid> start=<start time in clock ticks>`. A lab whose owner is gone is stale.

const MARK = /^kubegate-lab pid=(\d+) start=(\d+)$/;

/** The process's start time (field 22 of /proc/<pid>/stat), or null when there is no such process. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export async function markOwner(underlayNetns: string): Promise<void> {
  const alias = `kubegate-lab pid=${process.pid} start=${startTime(process.pid)}`;
  await ipIn(underlayNetns, 'link', 'set', UNDERLAY_BRIDGE, 'alias', alias);
}

/** 'alive', 'gone' (the owner exited: stale), or 'unknown' (not a kubegate lab underlay). */
export async function ownerState(underlayNetns: string): Promise<'alive' | 'gone' | 'unknown'> {
  let out: string;
  try {
    out = await ipIn(underlayNetns, '-j', 'link', 'show', UNDERLAY_BRIDGE);
  } catch {
    return 'unknown';
  }
  const alias = (JSON.parse(out) as { ifalias?: string }[])[0]?.ifalias ?? '';
  const m = MARK.exec(alias);
  if (!m) return 'unknown';
  return startTime(Number(m[1])) === m[2] ? 'alive' : 'gone';
}
