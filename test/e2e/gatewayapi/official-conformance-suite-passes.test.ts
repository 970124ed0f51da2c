import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { devDir } from '../env.ts';

const RUN = fileURLToPath(new URL('../../../tools/conformance/run.ts', import.meta.url));
const FEATURES = fileURLToPath(new URL('../../../src/gatewayapi/supported-features.json', import.meta.url));

interface Report {
  profiles: {
    name: string;
    core: { result: string; statistics: { Failed: number; Passed: number } };
    extended?: {
      result: string;
      statistics: { Failed: number; Passed: number };
      supportedFeatures?: string[];
    };
  }[];
}

// The judge: the official Gateway API conformance suite (v1.7.0; the GATEWAY-HTTP, -TLS, -TCP,
// -UDP and -GRPC profiles) against this run's cluster, with the features kubegate claims. The
// suite's own exit status decides; the report must show every profile's core tests passed and
// every claimed extended feature as tested.
test('the official Gateway API conformance suite passes for every claimed feature', async () => {
  const out = await mkdtemp(join(tmpdir(), 'kubegate-conformance-'));
  after(() => rm(out, { recursive: true, force: true }));
  const report = join(out, 'report.yaml');
  const child = spawn(
    process.execPath,
    [RUN, '--dev-dir', devDir(), '--report', report, '--log', join(out, 'suite.log')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr.on('data', (c: Buffer) => (text += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', r));
  const failedLine = /^failed:.*$/m.exec(text)?.[0] ?? '';
  assert.equal(
    code,
    0,
    `conformance suite failed (${failedLine}):\n${text.slice(-3000)}\n${await readFile(
      join(out, 'suite.log'),
      'utf8',
    ).then(
      (l) => l.slice(-6000),
      () => '',
    )}`,
  );

  const r = parse(await readFile(report, 'utf8')) as Report;
  const http = r.profiles.find((p) => p.name === 'GATEWAY-HTTP');
  assert.ok(http, 'the report has the GATEWAY-HTTP profile');
  assert.equal(http.core.result, 'success');
  assert.equal(http.core.statistics.Failed, 0);
  assert.ok(http.core.statistics.Passed >= 40, `core tests passed: ${http.core.statistics.Passed}`);
  assert.equal(http.extended?.result, 'success');
  for (const name of ['GATEWAY-TLS', 'GATEWAY-TCP', 'GATEWAY-UDP', 'GATEWAY-GRPC']) {
    const p = r.profiles.find((x) => x.name === name);
    assert.ok(p, `the report has the ${name} profile`);
    assert.equal(p.core.result, 'success', name);
    assert.equal(p.core.statistics.Failed, 0, name);
    assert.ok(p.core.statistics.Passed > 0, name);
  }
  const claimed = (JSON.parse(await readFile(FEATURES, 'utf8')) as { features: string[] }).features;
  // The profiles' core features; the rest must show as tested extended features of some profile.
  // v1.7.0's GATEWAY-GRPC profile has no GRPCRoute extended features: their tests run (the suite
  // runs every claimed feature's tests; the exit status covers them) but no profile lists them.
  const core = new Set([
    'GRPCRouteNamedRouteRule',
    'GRPCRouteRequestHeaderModifier',
    'Gateway',
    'HTTPRoute',
    'ReferenceGrant',
    'TLSRoute',
    'TCPRoute',
    'UDPRoute',
    'GRPCRoute',
  ]);
  const tested = new Set(r.profiles.flatMap((p) => p.extended?.supportedFeatures ?? []));
  for (const f of claimed.filter((x) => !core.has(x)))
    assert.ok(tested.has(f), `claimed feature ${f} was tested`);
});
