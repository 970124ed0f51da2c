import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../src/dev/ports.ts';
import { Gateway } from './gateway.ts';
import { HAProxy } from './haproxy.ts';
import { compare, runMatrix, type Cell, type MatrixOptions, type Target } from './matrix.ts';
import { table } from './results.ts';

/** The upstreams and credentials one side-by-side comparison runs against. */
export interface SideBySideSetup {
  /** https URLs of the upstreams; `direct` goes to the first. */
  upstreams: readonly string[];
  tls: { certFile: string; keyFile: string; clientCAFile: string };
  serverPem: string;
  caFile: string;
  credentials: { certFile: string; keyFile: string };
  dir: string;
  /** More proxies to run beside kubegate and HAProxy (e.g. the bare `node:http2` floor). */
  extra?: readonly ExtraTarget[];
}

/** A proxy process the comparison starts, measures as one more target, and stops. */
export interface ExtraTarget {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Medians and ratios from one session of direct / kubegate / HAProxy L7 / HAProxy L4 runs. */
export interface SideBySideResult {
  cells: Cell[];
  runs: unknown[];
  kubegateVsDirect: Record<string, unknown>;
  kubegateVsHAProxyL7: Record<string, unknown>;
  /** kubegate against each extra target, by its name. */
  kubegateVsExtra: Record<string, Record<string, unknown>>;
  markdown: string;
}

const hostPort = (url: string) => new URL(url).host;

/** Starts kubegate and both HAProxies in front of the upstreams, runs the matrix, stops everything. */
export async function sideBySide(
  s: SideBySideSetup,
  o: Omit<MatrixOptions, 'tmpDir'>,
): Promise<SideBySideResult> {
  const gwDir = join(s.dir, 'gateway');
  await mkdir(gwDir, { recursive: true });
  const gw = new Gateway({
    port: await freePort(),
    adminPort: await freePort(),
    upstreams: s.upstreams,
    tls: s.tls,
    upstreamCA: s.caFile,
    credentials: s.credentials,
    dir: gwDir,
  });
  const upstreams = s.upstreams.map(hostPort);
  const common = { upstreams, serverPem: s.serverPem, caFile: s.caFile, threads: 2 };
  const l7 = new HAProxy({ mode: 'l7', port: await freePort(), ...common });
  const l4 = new HAProxy({ mode: 'l4', port: await freePort(), ...common });
  try {
    await gw.start();
    await l7.start(s.dir);
    await l4.start(s.dir);
    for (const e of s.extra ?? []) await e.start();
    const targets: Target[] = [
      { name: 'direct', url: s.upstreams[0]! },
      { name: 'kubegate', url: gw.url, pid: gw.pid },
      { name: 'haproxy-l7', url: `https://127.0.0.1:${l7.opts.port}`, pid: l7.pid },
      { name: 'haproxy-l4', url: `https://127.0.0.1:${l4.opts.port}`, pid: l4.pid },
      ...(s.extra ?? []).map((e) => ({ name: e.name, url: e.url, pid: e.pid })),
    ];
    const { runs, cells } = await runMatrix(targets, { ...o, tmpDir: s.dir });
    const kubegateVsDirect = compare(cells, 'kubegate', 'direct');
    const kubegateVsHAProxyL7 = compare(cells, 'kubegate', 'haproxy-l7', runs);
    const kubegateVsExtra: Record<string, Record<string, unknown>> = {};
    for (const e of s.extra ?? []) kubegateVsExtra[e.name] = compare(cells, 'kubegate', e.name, runs);
    return {
      cells,
      runs,
      kubegateVsDirect,
      kubegateVsHAProxyL7,
      kubegateVsExtra,
      markdown: [
        markdown(cells, kubegateVsDirect, kubegateVsHAProxyL7, o),
        ...Object.entries(kubegateVsExtra).map(([name, v]) => extraMarkdown(name, v)),
      ].join('\n\n'),
    };
  } finally {
    for (const e of s.extra ?? []) await e.stop();
    await gw.stop();
    await l7.stop();
    await l4.stop();
  }
}

function markdown(
  cells: readonly Cell[],
  vsDirect: Record<string, unknown>,
  vsL7: Record<string, unknown>,
  o: Omit<MatrixOptions, 'tmpDir'>,
): string {
  const rows = cells.map((c) => [
    c.rate,
    c.target,
    c.reqPerSec,
    c.p50,
    c.p90,
    c.p99,
    c.cpuMicrosPerRequest,
    c.rssMiB,
    c.failed,
    c.non2xx,
  ]);
  const ratio = Object.entries(vsDirect).map(([rate, v]) => {
    const d = v as Record<string, number | null>;
    const h = vsL7[rate] as Record<string, number | null> | undefined;
    return [
      rate,
      d['addedP50'],
      d['addedP99'],
      d['throughputRatio'],
      h?.['addedP50'],
      h?.['addedP99'],
      h?.['throughputRatio'],
    ];
  });
  return [
    `Medians of ${o.reps} alternating runs of ${o.durationSeconds} s (after ${o.warmupSeconds} s warm-up); latency in µs; CPU µs/request and RSS of the proxy process.`,
    '',
    table(
      ['rate', 'target', 'req/s', 'p50', 'p90', 'p99', 'CPU µs/req', 'RSS MiB', 'failed', 'non-2xx'],
      rows,
    ),
    '',
    table(
      [
        'rate',
        'added p50 vs direct',
        'added p99 vs direct',
        'throughput / direct',
        'added p50 vs L7',
        'added p99 vs L7',
        'throughput / HAProxy L7',
      ],
      ratio,
    ),
  ].join('\n');
}

/** kubegate against one extra target: throughput, latency and CPU per request side by side. */
function extraMarkdown(name: string, vs: Record<string, unknown>): string {
  const rows = Object.entries(vs).map(([rate, v]) => {
    const d = v as Record<string, number | null>;
    return [rate, d['addedP50'], d['addedP99'], d['throughputRatio'], d['cpuRatio'], d['cpuRatioPerRep']];
  });
  return table(
    [
      'rate',
      `added p50 vs ${name}`,
      `added p99 vs ${name}`,
      `throughput / ${name}`,
      `CPU per request / ${name}`,
      'the same, median of each repetition',
    ],
    rows,
  );
}
