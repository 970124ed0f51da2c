// npm run bench -- [scenario…]: runs the named scenarios (default: all) one at a time on loopback,
// prints each run, and writes bench/results/<date>-<name>.json and <date>-summary.md.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeMachine } from './lib/machine.ts';
import { saveResult } from './lib/results.ts';
import type { Scenario } from './lib/scenario.ts';
import { ensureTools } from './lib/tools.ts';
import { abuse } from './scenarios/abuse.ts';
import { apiserver } from './scenarios/apiserver.ts';
import { bgpScale } from './scenarios/bgp-scale.ts';
import { connections } from './scenarios/connections.ts';
import { gatewayapi } from './scenarios/gatewayapi.ts';
import { informers } from './scenarios/informers.ts';
import { nodeProxy } from './scenarios/node-proxy.ts';
import { podlet } from './scenarios/podlet.ts';
import { reload } from './scenarios/reload.ts';
import { tiny } from './scenarios/tiny.ts';
import { watches } from './scenarios/watches.ts';

const SCENARIOS: readonly Scenario[] = [
  tiny,
  apiserver,
  connections,
  watches,
  informers,
  reload,
  abuse,
  podlet,
  gatewayapi,
  nodeProxy,
  bgpScale,
];

function envInt(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) {
    console.error(
      `bench: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
    process.exit(2);
  }
  const chosen = names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => names.includes(s.name));
  ensureTools();
  const machine = describeMachine();
  console.log(`bench: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, kernel ${machine.kernel}`);
  for (const s of chosen) {
    const dir = await mkdtemp(join(tmpdir(), `kubegate-bench-${s.name}-`));
    console.log(`bench ${s.name}: ${s.describe}`);
    try {
      const r = await s.run({
        dir,
        reps: envInt('BENCH_REPS', 3),
        durationSeconds: envInt('BENCH_SECONDS', 5),
        warmupSeconds: envInt('BENCH_WARMUP', 1),
      });
      console.log(r.markdown);
      for (const f of await saveResult(machine, r)) console.log(`bench ${s.name}: wrote ${f}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

await main();
