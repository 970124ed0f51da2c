import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A Service proxy the node-proxy bench runs in every node namespace of the lab, one at a time. */
export interface ServiceProxy {
  /** `kubegate node (before)`: another tree's `kubegate node` (NODE_PROXY_BEFORE), reported apart. */
  readonly name: 'kube-proxy' | 'kubegate node' | 'kubegate node (before)';
  /** Its nftables tables (`family name`), which `stop` must leave behind in no namespace. */
  readonly tables: readonly string[];
  /** The sync-duration histogram series its metrics endpoint serves (every sync, full or partial). */
  readonly syncMetric: string;
  /** 127.0.0.1 port of its metrics endpoint inside each node namespace. */
  readonly metricsPort: number;
  /** Tables its own cleanup left behind (and the bench then deleted), as `node: family name`. */
  readonly leftBehind: readonly string[];
  start(): Promise<void>;
  /** Stops it everywhere and removes its tables (its own cleanup, then `nft delete` of any left). */
  stop(): Promise<void>;
}

/**
 * `_count` and `_sum` of a histogram series, scraped from `/metrics` inside a namespace; `series` is
 * a name, optionally with one label (`name{label="value"}`).
 */
export async function histogram(
  netns: string,
  port: number,
  series: string,
): Promise<{ count: number; sumSeconds: number } | null> {
  const { stdout } = await run(
    'ip',
    ['netns', 'exec', netns, 'curl', '-sf', '--max-time', '5', `http://127.0.0.1:${port}/metrics`],
    { timeout: 10_000, maxBuffer: 64 << 20 },
  ).catch(() => ({ stdout: '' }));
  const [name, label = ''] = series.replace(/\}$/, '').split('{') as [string, string?];
  const value = (suffix: string) => {
    for (const m of stdout.matchAll(new RegExp(`^${name}_${suffix}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm')))
      if ((m[1] ?? '').split(',').includes(label) || label === '') return Number(m[2]);
    return null;
  };
  const count = value('count');
  const sum = value('sum');
  return count === null || sum === null ? null : { count, sumSeconds: sum };
}

/** Size of some nftables tables in a namespace: `nft list` lines, chains, rules, set/map elements. */
export interface RuleCount {
  lines: number;
  chains: number;
  rules: number;
  elements: number;
}

export async function countRules(netns: string, tables: readonly string[]): Promise<RuleCount> {
  const total: RuleCount = { lines: 0, chains: 0, rules: 0, elements: 0 };
  for (const t of tables) {
    const [family, name] = t.split(' ') as [string, string];
    const nft = (...args: string[]) =>
      run('ip', ['netns', 'exec', netns, 'nft', ...args, 'list', 'table', family, name], {
        timeout: 120_000,
        maxBuffer: 1 << 30,
      }).catch(() => ({ stdout: '' }));
    const text = (await nft()).stdout;
    total.lines += text === '' ? 0 : text.trimEnd().split('\n').length;
    const json = (await nft('-j')).stdout;
    if (json === '') continue;
    const objects = (JSON.parse(json) as { nftables: Record<string, { elem?: unknown[] }>[] }).nftables;
    for (const o of objects) {
      if ('chain' in o) total.chains++;
      else if ('rule' in o) total.rules++;
      else total.elements += (o.set ?? o.map)?.elem?.length ?? 0;
    }
  }
  return total;
}

/** Which of `tables` exist in the namespace. */
export async function presentTables(netns: string, tables: readonly string[]): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, 'nft', 'list', 'tables'], {
    timeout: 10_000,
  }).catch(() => ({ stdout: '' }));
  const have = new Set(stdout.split('\n').map((l) => l.replace(/^table /, '').trim()));
  return tables.filter((t) => have.has(t));
}

/** Deletes whichever of `tables` are left in the namespace; returns the ones it had to delete. */
export async function deleteTables(netns: string, tables: readonly string[]): Promise<string[]> {
  const left = await presentTables(netns, tables);
  for (const t of left)
    await run('ip', ['netns', 'exec', netns, 'nft', 'delete', 'table', ...t.split(' ')], { timeout: 30_000 });
  return left;
}
