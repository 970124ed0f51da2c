import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One function's self time in a V8 CPU profile. */
export interface SelfTime {
  fn: string;
  where: string;
  selfMs: number;
  percent: number;
}

/** The `top` functions by self time in a `.cpuprofile` file, with their share of all samples. */
export async function topSelfTime(file: string, top: number): Promise<SelfTime[]> {
  const p = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, { fn: string; where: string; us: number }>();
  let all = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    const dt = p.timeDeltas[i] ?? 0;
    if (!n) continue;
    all += dt;
    const cf = n.callFrame;
    const where = cf.url
      ? `${cf.url.replace(/^file:\/\/.*?\/(src|node_modules)\//, '$1/')}:${cf.lineNumber + 1}`
      : '';
    const key = `${cf.functionName}@${where}`;
    const t = totals.get(key) ?? { fn: cf.functionName || '(anonymous)', where, us: 0 };
    t.us += dt;
    totals.set(key, t);
  }
  return [...totals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((t) => ({
      fn: t.fn,
      where: t.where,
      selfMs: Math.round(t.us / 1000),
      percent: Math.round((t.us / all) * 1000) / 10,
    }));
}

/** Self time summed per source file (node internals, each dependency, each src/ file), top `top`. */
export async function selfTimeByFile(file: string, top: number): Promise<SelfTime[]> {
  const p = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    const dt = p.timeDeltas[i] ?? 0;
    if (!n) continue;
    all += dt;
    const url = n.callFrame.url;
    const key = url
      ? url
          .replace(/^file:\/\/.*?\/node_modules\/((@[^/]+\/)?[^/]+)\/.*$/, 'npm:$1')
          .replace(/^file:\/\/.*?\/src\//, 'src/')
      : n.callFrame.functionName || '(native)';
    totals.set(key, (totals.get(key) ?? 0) + dt);
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, us]) => ({
      fn: '',
      where,
      selfMs: Math.round(us / 1000),
      percent: Math.round((us / all) * 1000) / 10,
    }));
}
