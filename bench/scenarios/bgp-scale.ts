import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BgpScaleLab } from '../lib/bgp-scale-lab.ts';
import { bgpScaleMarkdown, summarizeBgpScale, type BgpScaleData } from '../lib/bgp-scale-report.ts';
import { measureBgpScale, type BgpScaleRound } from '../lib/bgp-scale-round.ts';
import { withHeavyLock } from '../lib/heavy-lock.ts';
import { measuredCommit } from '../lib/commit.ts';
import type { Scenario } from '../lib/scenario.ts';

const PROVIDE = fileURLToPath(new URL('../../tools/e2e-suites/provide.sh', import.meta.url));

function positive(name: string, def: number): number {
  const v = Number(process.env[name] ?? def);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`${name} must be a positive integer, got ${process.env[name]}`);
  return v;
}

/**
 * Issue 22's scale figure: one BGP speaker announcing 10,000 service /32s and receiving 1,000 node
 * prefixes from gobgpd, kubegate's Speaker beside gobgpd doing the same (see bgp-scale-round.ts).
 * Knobs: BGP_SCALE_SERVICES, BGP_SCALE_NODES, BGP_SCALE_WITHDRAW, BENCH_REPS (at least 5 here),
 * BENCH_LOCK (a file to flock around each kubegate/gobgpd pair), BGP_SCALE_CPU_PROFILE (a folder
 * for V8 CPU profiles of the kubegate speaker).
 */
export const bgpScale: Scenario = {
  name: 'bgp-scale',
  describe:
    'one BGP speaker: 10,000 /32s out, 1,000 prefixes in from gobgpd; kubegate vs gobgpd, alternating',
  async run(ctx) {
    const services = positive('BGP_SCALE_SERVICES', 10_000);
    const nodes = positive('BGP_SCALE_NODES', 1000);
    const withdraw = Math.min(services, positive('BGP_SCALE_WITHDRAW', 1000));
    const reps = Math.max(5, ctx.reps);
    const bin = execFileSync(PROVIDE, ['gobgpd', 'gobgp'], { encoding: 'utf8', timeout: 20 * 60_000 }).trim();
    const gobgpd = join(bin, 'gobgpd');
    const gobgpdVersion = execFileSync(gobgpd, ['--version'], { encoding: 'utf8' }).trim();
    const cpuProfileDir = process.env.BGP_SCALE_CPU_PROFILE || undefined;
    if (cpuProfileDir) await mkdir(cpuProfileDir, { recursive: true });
    const lab = new BgpScaleLab();
    const rounds: BgpScaleRound[] = [];
    try {
      lab.create();
      for (let rep = 0; rep < reps; rep++) {
        try {
          await withHeavyLock(process.env.BENCH_LOCK, 900, async () => {
            // Which goes first alternates too, so neither always runs on a machine the other just warmed.
            const order =
              rep % 2 === 0 ? (['kubegate', 'gobgpd'] as const) : (['gobgpd', 'kubegate'] as const);
            const pair: BgpScaleRound[] = [];
            for (const subject of order) {
              const r = await measureBgpScale(subject, rep, {
                lab,
                dir: ctx.dir,
                gobgpd,
                services,
                nodes,
                withdraw,
                cpuProfileDir,
              });
              console.log(`bench bgp-scale: ${JSON.stringify(r)}`);
              pair.push(r);
            }
            rounds.push(...pair);
          });
        } catch (err) {
          // A busy machine (the lock not free in 15 minutes) ends the run with the pairs measured so far.
          if (rounds.length === 0) throw err;
          console.error(`bench bgp-scale: stopping after ${rep} repetitions: ${(err as Error).message}`);
          break;
        }
      }
    } finally {
      lab.remove();
    }
    const data: BgpScaleData = { services, nodes, withdraw, gobgpdVersion, rounds, commit: measuredCommit() };
    return {
      name: 'bgp-scale',
      data: { summary: summarizeBgpScale(rounds), ...data },
      markdown: bgpScaleMarkdown(data),
    };
  },
};
