// A quick look while optimising: the tiny upstream, then direct and kubegate at the given rates,
// one run each, printed (nothing saved). Not a benchmark result: `npm run bench -- tiny` is.
//   node bench/quick.ts [rate ...]          rates: numbers or max (default 2000 max)
//   QUICK_SECONDS=5 QUICK_PROFILE=1 BENCH_KUBEGATE_WORKERS=1 node bench/quick.ts 2000
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/dev/ports.ts';
import { topSelfTime } from './lib/cpu-profile.ts';
import { Gateway } from './lib/gateway.ts';
import { runLoad } from './lib/h2load.ts';
import { createBenchPKI } from './lib/pki.ts';
import { processUsage } from './lib/process-usage.ts';
import { BENCH_TOKEN, TinyUpstream } from './lib/tiny-upstream.ts';
import { ensureTools } from './lib/tools.ts';

const PATH = '/api/v1/namespaces/default/configmaps/bench';
const seconds = Number(process.env.QUICK_SECONDS ?? 5);
const profile = process.env.QUICK_PROFILE === '1';
const rates = (process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['2000', 'max']).map((r) =>
  r === 'max' ? ('max' as const) : Number(r),
);

ensureTools();
const dir = await mkdtemp(join(tmpdir(), 'kubegate-quick-'));
const pki = await createBenchPKI(join(dir, 'pki'));
const upstream = new TinyUpstream(pki);
await upstream.start();
const headers = [`authorization: Bearer ${BENCH_TOKEN}`];
const profDir = join(dir, 'prof');
const gw = new Gateway({
  port: await freePort(),
  adminPort: await freePort(),
  upstreams: [upstream.url],
  tls: { certFile: pki.server.cert, keyFile: pki.server.key, clientCAFile: pki.ca.cert },
  upstreamCA: pki.ca.cert,
  credentials: { certFile: pki.gatewayClient.cert, keyFile: pki.gatewayClient.key },
  dir,
  ...(profile ? { cpuProfDir: profDir } : {}),
});
try {
  await gw.start();
  await runLoad({ url: gw.url + PATH, rate: 'max', durationSeconds: 2, warmupSeconds: 0, headers }, dir);
  for (const rate of rates) {
    // QUICK_ONLY=kubegate: the gateway alone (e.g. for an allocation profile over a known window).
    for (const [name, url] of (
      [
        ['direct', upstream.url],
        ['kubegate', gw.url],
      ] as const
    ).filter(([n]) => process.env.QUICK_ONLY === undefined || process.env.QUICK_ONLY === n)) {
      const before = processUsage(gw.pid);
      const up0 = process.cpuUsage();
      const r = await runLoad(
        { url: url + PATH, rate, durationSeconds: seconds, warmupSeconds: 1, headers },
        dir,
      );
      const after = processUsage(gw.pid);
      const up = process.cpuUsage(up0);
      const upCpu = ((up.user + up.system) / r.allRequests).toFixed(0);
      const cpu =
        name === 'kubegate' ? ((after.cpuMicros - before.cpuMicros) / r.allRequests).toFixed(0) : '-';
      console.log(
        `${name.padEnd(8)} ${String(rate).padStart(5)}: ${r.reqPerSec.toFixed(0).padStart(6)} req/s p50 ${r.p50} p90 ${r.p90} p99 ${r.p99} µs, cpu/req ${cpu} µs (upstream ${upCpu}), rss ${after.rssKiB >> 10} MiB, failed ${r.failed} non2xx ${r.non2xx}`,
      );
    }
  }
} finally {
  await gw.stop();
  await upstream.stop();
}
if (profile) {
  for (const f of (await readdir(profDir)).filter(
    (f) => f.endsWith('.cpuprofile') && (process.env.QUICK_MAIN === '1' || f.split('.')[4] !== '0'),
  )) {
    console.log(`\n${f}`);
    // QUICK_PROF_COPY=<folder>: the profiles kept there for a closer look.
    if (process.env.QUICK_PROF_COPY) await copyFile(join(profDir, f), join(process.env.QUICK_PROF_COPY, f));
    for (const t of await topSelfTime(join(profDir, f), 25))
      console.log(`${String(t.percent).padStart(5)}%  ${t.selfMs} ms  ${t.fn}  ${t.where}`);
  }
}
{
  // The gateway's own view: durationMs of the access log (stream open to close), last run only.
  const { readFileSync } = await import('node:fs');
  const all = readFileSync(join(dir, 'access.log'), 'utf8').trim().split('\n');
  const lines = all.slice(-Number(process.env.QUICK_LINES ?? 2000));
  const d = lines.map((l) => JSON.parse(l).durationMs as number).sort((a, b) => a - b);
  const q = (p: number) => d[Math.min(d.length - 1, Math.floor((d.length * p) / 100))];
  console.log(`access log durationMs of the last ${d.length}: p50 ${q(50)} p90 ${q(90)} p99 ${q(99)}`);
  console.log(`requests logged in all (warm-up included): ${all.length}`);
}
await rm(dir, { recursive: true, force: true });
