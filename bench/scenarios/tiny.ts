import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { gcAtFixedRate, gcTable } from '../lib/gc-run.ts';
import { Gateway } from '../lib/gateway.ts';
import { createBenchPKI } from '../lib/pki.ts';
import { profileUnderMaxLoad } from '../lib/profile-run.ts';
import { table } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';
import { sideBySide } from '../lib/side-by-side.ts';
import { BENCH_TOKEN, TinyUpstream } from '../lib/tiny-upstream.ts';
import { freePort } from '../../src/dev/ports.ts';
import { BareProxy } from './tiny-bare-proxy.ts';

const PATH = '/api/v1/namespaces/default/configmaps/bench';

/** Direct vs kubegate vs HAProxy L7/L4 in front of a tiny HTTP/2 server, so the gateway's own cost shows. */
export const tiny: Scenario = {
  name: 'tiny',
  describe:
    'tiny TLS h2 upstream (1 KiB JSON): direct, kubegate, HAProxy L7, HAProxy L4 and a bare node:http2 proxy (the floor) at 500/2000/5000 req/s and max',
  async run(ctx) {
    const pki = await createBenchPKI(join(ctx.dir, 'pki'));
    const upstream = new TinyUpstream(pki);
    await upstream.start();
    // h2load cannot present a client certificate, so clients authenticate with a bearer token that
    // the gateway reviews once (TokenReview to the tiny upstream) and then finds in its token cache.
    const headers = [`authorization: Bearer ${BENCH_TOKEN}`];
    const w = process.env.BENCH_KUBEGATE_WORKERS;
    // The runtime's floor: same TLS, same upstream pool shape, as many threads as kubegate's workers.
    const bare = new BareProxy({
      port: await freePort(),
      upstreams: [upstream.url],
      tls: { certFile: pki.server.cert, keyFile: pki.server.key },
      upstreamCA: pki.ca.cert,
      credentials: { certFile: pki.gatewayClient.cert, keyFile: pki.gatewayClient.key },
      workers: w === undefined || w === 'auto' ? undefined : Number(w),
    });
    const setup = {
      upstreams: [upstream.url],
      tls: { certFile: pki.server.cert, keyFile: pki.server.key, clientCAFile: pki.ca.cert },
      serverPem: pki.serverPem,
      caFile: pki.ca.cert,
      credentials: { certFile: pki.gatewayClient.cert, keyFile: pki.gatewayClient.key },
      dir: ctx.dir,
      extra: [
        {
          name: 'node-http2',
          get url() {
            return bare.url;
          },
          get pid() {
            return bare.pid;
          },
          start: () => bare.start(),
          stop: () => bare.stop(),
        },
      ],
    };
    try {
      const r = await sideBySide(setup, {
        rates: [500, 2000, 5000, 'max'],
        reps: ctx.reps,
        durationSeconds: ctx.durationSeconds,
        warmupSeconds: ctx.warmupSeconds,
        headers,
        path: PATH,
      });
      console.log('  cpu profile of kubegate under max load');
      const prof = await profileUnderMaxLoad(
        {
          upstreams: [upstream.url],
          tls: setup.tls,
          upstreamCA: pki.ca.cert,
          credentials: { certFile: pki.gatewayClient.cert, keyFile: pki.gatewayClient.key },
          dir: join(ctx.dir, 'prof'),
        },
        { path: PATH, headers, seconds: 10, name: 'tiny-max' },
      );
      // The tail at 2000 req/s is GC and event-loop stalls: the pauses under that load, beside the
      // bare proxy's, each in a fresh process with --trace-gc.
      console.log('  GC pauses at 2000 req/s (--trace-gc), kubegate and the bare proxy');
      const gcDir = join(ctx.dir, 'gc');
      await mkdir(gcDir, { recursive: true });
      const gcGateway = new Gateway({
        port: await freePort(),
        adminPort: await freePort(),
        upstreams: [upstream.url],
        tls: setup.tls,
        upstreamCA: pki.ca.cert,
        credentials: setup.credentials,
        dir: gcDir,
        traceGc: true,
      });
      const gcBare = new BareProxy({ ...bare.opts, port: await freePort(), traceGc: true });
      const gcRuns = await gcAtFixedRate(
        [
          {
            name: 'kubegate',
            url: gcGateway.url,
            start: () => gcGateway.start(),
            stop: () => gcGateway.stop(),
            gcTrace: () => gcGateway.gcTrace(),
          },
          {
            name: 'node-http2',
            url: gcBare.url,
            start: () => gcBare.start(),
            stop: () => gcBare.stop(),
            gcTrace: () => gcBare.gcTrace(),
          },
        ],
        {
          rate: 2000,
          seconds: 2 * ctx.durationSeconds,
          warmupSeconds: 3,
          reps: ctx.reps,
          path: PATH,
          headers,
          threads: w === undefined || w === 'auto' ? availableParallelism() : Number(w),
          dir: gcDir,
        },
      );
      for (const g of gcRuns)
        console.log(
          `  rep ${g.rep} ${g.target.padEnd(10)} p99 ${g.load.p99} µs, scavenges ${g.gc.scavenges.count} (max ${g.gc.scavenges.maxMs} ms), mark-compacts ${g.gc.markCompacts.count} (max ${g.gc.markCompacts.maxMs} ms)`,
        );
      const gc = gcTable(gcRuns);
      const profMd = table(
        ['function', 'where', 'self ms', '%'],
        prof.top.map((t) => [t.fn, t.where, t.selfMs, t.percent]),
      );
      return {
        name: 'tiny',
        data: {
          upstream: 'tiny TLS HTTP/2 server in the harness process, 1 KiB JSON',
          auth: 'bearer token, TokenReview cached by the gateway',
          cells: r.cells,
          kubegateVsDirect: r.kubegateVsDirect,
          kubegateVsHAProxyL7: r.kubegateVsHAProxyL7,
          kubegateVsBareNode: r.kubegateVsExtra['node-http2'],
          profile: { reqPerSec: prof.load.reqPerSec, topSelfTime: prof.top },
          gcAt2000: { medians: gc.rows, runs: gcRuns },
          runs: r.runs,
        },
        markdown: [
          '## tiny',
          '',
          r.markdown,
          '',
          `CPU profile of kubegate at max load (${prof.load.reqPerSec.toFixed(0)} req/s while profiling), top self time:`,
          '',
          profMd,
          '',
          `GC pauses of the serving threads at 2000 req/s (\`--trace-gc\`, ${2 * ctx.durationSeconds} s after a 3 s warm-up, medians of ${ctx.reps} fresh processes each):`,
          '',
          gc.markdown,
        ].join('\n'),
      };
    } finally {
      await upstream.stop();
    }
  },
};
