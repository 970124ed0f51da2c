import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_DEBOUNCE_MS } from '../../src/config/file-source.ts';
import { freePort } from '../../src/dev/ports.ts';
import { Gateway } from '../lib/gateway.ts';
import { runLoad } from '../lib/h2load.ts';
import { manyRules } from '../lib/many-rules.ts';
import { createBenchPKI } from '../lib/pki.ts';
import { table } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';
import { median, round } from '../lib/stats.ts';
import { BENCH_TOKEN, TinyUpstream } from '../lib/tiny-upstream.ts';

const PATH = '/api/v1/namespaces/default/configmaps/bench';
// Rules ahead of the bench's own (so every request walks past them), none matching the bench user.
const RULES = 1000;
const RELOADS = 4;
// FileSource waits this long after the last folder event before it reads the file.
const DEBOUNCE_MS = DEFAULT_DEBOUNCE_MS;

/**
 * The gateway's log (the access log shares it), read incrementally: it grows by ~1 MB/s at 2000
 * req/s, and reading it whole every poll took CPU from the gateway on the same two cores.
 */
class LogTail {
  readonly #file: string;
  #handle: FileHandle | null = null;
  #offset = 0;
  #partial = '';

  constructor(file: string) {
    this.#file = file;
  }

  /** The first `configuration reloaded` line logged at or after `after` (ms), if any yet: its time and phases. */
  async reloadedAt(after: number): Promise<Reloaded | null> {
    this.#handle ??= await open(this.#file, 'r');
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const { bytesRead } = await this.#handle.read(buf, 0, buf.length, this.#offset);
      if (bytesRead === 0) return null;
      this.#offset += bytesRead;
      const lines = (this.#partial + buf.toString('utf8', 0, bytesRead)).split('\n');
      this.#partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('configuration reloaded')) continue;
        const l = JSON.parse(line) as { time?: number; loadMs?: number; applyMs?: number };
        const t = l.time ?? 0;
        if (t >= after) return { at: t, loadMs: l.loadMs ?? NaN, applyMs: l.applyMs ?? NaN };
      }
    }
  }

  async close(): Promise<void> {
    await this.#handle?.close();
  }
}

/** A reload as the gateway logged it: when, and its read/parse/check and apply (all workers) times. */
interface Reloaded {
  at: number;
  loadMs: number;
  applyMs: number;
}

/** Reload under load: a 1000-rule file rewritten 4 times during 2000 req/s through kubegate. */
export const reload: Scenario = {
  name: 'reload',
  describe: `${RULES} rules reloaded ${RELOADS}× during 2000 req/s (tiny upstream): reload delay, failed requests`,
  async run(ctx) {
    const pki = await createBenchPKI(join(ctx.dir, 'pki'));
    const upstream = new TinyUpstream(pki);
    await upstream.start();
    const gw = new Gateway({
      port: await freePort(),
      adminPort: await freePort(),
      upstreams: [upstream.url],
      tls: { certFile: pki.server.cert, keyFile: pki.server.key, clientCAFile: pki.ca.cert },
      upstreamCA: pki.ca.cert,
      credentials: { certFile: pki.gatewayClient.cert, keyFile: pki.gatewayClient.key },
      dir: ctx.dir,
      rules: manyRules(RULES, 0),
    });
    const delays: number[] = [];
    const phases: { loadMs: number; applyMs: number }[] = [];
    try {
      await gw.start();
      const seconds = 4 + RELOADS * 3;
      const load = runLoad(
        {
          url: gw.url + PATH,
          rate: 2000,
          durationSeconds: seconds,
          warmupSeconds: 1,
          headers: [`authorization: Bearer ${BENCH_TOKEN}`],
        },
        ctx.dir,
      );
      const log = new LogTail(join(ctx.dir, 'access.log'));
      for (let gen = 1; gen <= RELOADS; gen++) {
        await new Promise((r) => setTimeout(r, 3000));
        // Rendered before the clock starts: stringifying 1000 rules takes this process ~100 ms.
        const text = gw.render(manyRules(RULES, gen));
        const t0 = Date.now();
        gw.replace(text);
        let seen: Reloaded | null = null;
        while (seen === null && Date.now() - t0 < 2500) {
          await new Promise((r) => setTimeout(r, 10));
          seen = await log.reloadedAt(t0);
        }
        if (seen === null) {
          console.log(`  reload ${gen}: not seen within 2.5 s`);
          continue;
        }
        const d = seen.at - t0;
        console.log(
          `  reload ${gen}: ${d} ms from rename to 'configuration reloaded' (load ${seen.loadMs} ms, apply ${seen.applyMs} ms)`,
        );
        delays.push(d);
        phases.push({ loadMs: seen.loadMs, applyMs: seen.applyMs });
      }
      await log.close();
      const r = await load;
      console.log(
        `  load: ${r.reqPerSec.toFixed(0)} req/s, failed ${r.failed}, non-2xx ${r.non2xx}, p99 ${r.p99} µs`,
      );
      const med = median(delays);
      return {
        name: 'reload',
        data: {
          rules: RULES,
          reloads: RELOADS,
          writeToReloadedMs: delays,
          // The gateway's own split of each: read, parse and check; then applied by every worker.
          phases,
          medianMs: med,
          medianMinusDebounceMs: med - DEBOUNCE_MS,
          load: r,
        },
        markdown: [
          '## reload',
          '',
          `A file with ${RULES} rules (ahead of the bench's own, so every request walks past them) rewritten ${RELOADS}× with new rule names and limits during 2000 req/s. Delay = file rename → the gateway's \`configuration reloaded\` log line; it includes the file watcher's ${DEBOUNCE_MS} ms debounce.`,
          '',
          table(
            [
              'reloads seen',
              'delays ms',
              'median ms',
              'median − debounce ms',
              'load / apply ms (medians)',
              'req/s',
              'p99 µs',
              'failed',
              'non-2xx',
            ],
            [
              [
                delays.length,
                delays.join(', '),
                round(med),
                round(med - DEBOUNCE_MS),
                `${round(median(phases.map((p) => p.loadMs)))} / ${round(median(phases.map((p) => p.applyMs)))}`,
                r.reqPerSec,
                r.p99,
                r.failed,
                r.non2xx,
              ],
            ],
          ),
        ].join('\n'),
      };
    } finally {
      await gw.stop();
      await upstream.stop();
    }
  },
};
