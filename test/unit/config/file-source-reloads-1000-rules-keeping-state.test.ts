import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { ClusterSet } from '../../../src/cluster/cluster-set.ts';
import type { ClusterRuntime } from '../../../src/cluster/runtime.ts';
import { loadConfigFile } from '../../../src/config/file-config.ts';
import { FileSource } from '../../../src/config/file-source.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';
import type { Identity } from '../../../src/request/types.ts';
import { writeMaterialFiles } from '../helpers/pem-files.ts';

const RULES = 1000;
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/**
 * Rule `team-<i>` for users `team-<i>-*`; rules from `changedFrom` on get a different qps. One token
 * per 1000 s: a spent bucket does not refill while the test runs.
 */
function rules(changedFrom: number, extra: Record<string, unknown>[] = []): Record<string, unknown>[] {
  return [
    ...extra,
    ...Array.from({ length: RULES }, (_, i) => ({
      name: `team-${i}`,
      match: { users: [`team-${i}-*`], verbs: ['get', 'list'] },
      limits: { qps: i >= changedFrom ? 0.002 : 0.001, burst: 20, maxInflightReadOnly: 50 },
    })),
  ];
}

function configuration(list: Record<string, unknown>[]): string {
  return stringify({
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'GatewayConfiguration',
    listeners: [{ name: 'main', port: 0, tls: { certFile: 'tls.crt', keyFile: 'tls.key' }, cluster: 'c' }],
    clusters: [
      {
        name: 'c',
        endpoints: [{ name: 'a', url: 'https://10.0.0.1:6443' }],
        upstreamCA: { file: 'ca.crt' },
        credentials: { tokenFile: 'token' },
        rules: list,
      },
    ],
  });
}

const GET = parseRequestInfo('GET', '/api/v1/namespaces/default/pods/p');
const user = (name: string): Identity => ({ user: name, uid: '', groups: [], extra: {} });

/** The rule `team-<i>-x` is routed by, and its policy. */
function routed(runtime: ClusterRuntime, i: number) {
  const rule = runtime.routes.match(GET, user(`team-${i}-x`), '10.1.2.3');
  return { rule, policy: runtime.policy(rule) };
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a 1000-rule file replaced by rename is served in full, and unchanged rules keep their limiter state', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-reload-1000-'));
  dirs.push(dir);
  await writeMaterialFiles(dir);
  const file = join(dir, 'kubegate.yaml');
  await writeFile(file, configuration(rules(RULES)));

  const log = pino({ level: 'silent' });
  const clusters = new ClusterSet(log);
  after(() => clusters.close());
  const initial = await loadConfigFile(file);
  await clusters.apply(initial.clusters);
  const source = new FileSource(file, initial, (cfg) => clusters.apply(cfg.clusters), log, {
    pollMs: 3_600_000,
  });
  source.start();
  after(() => source.stop());

  const before = clusters.get('c')!;
  assert.equal(before.routes.rules.length, RULES);
  // Spend rule team-7's whole burst and hold one of its in-flight slots; the same for team-700.
  for (const i of [7, 700]) {
    const { limiters } = routed(before, i).policy;
    for (let n = 0; n < 20; n++) assert.equal(limiters.rate.take(''), 0);
    assert.ok(limiters.rate.take('') > 0, `team-${i}: bucket empty`);
    assert.ok(limiters.readOnly.tryAcquire(), `team-${i}: slot taken`);
  }
  const endpoint = before.upstream.endpoints[0];

  // Rules 500 and up change their qps, and one rule is added in front of all of them.
  const tmp = `${file}.tmp`;
  await writeFile(
    tmp,
    configuration(rules(500, [{ name: 'probes', match: { nonResourceURLs: ['/healthz'] } }])),
  );
  await rename(tmp, file);
  await until(() => source.reloads === 1 && clusters.get('c') !== before);
  assert.equal(source.failures, 0);

  const now = clusters.get('c')!;
  assert.equal(now.routes.rules.length, RULES + 1);
  for (let i = 0; i < RULES; i++) {
    const { rule, policy } = routed(now, i);
    assert.equal(rule.name, `team-${i}`, `team-${i}-x is routed by its own rule`);
    assert.equal(rule.index, i + 1);
    assert.equal(policy.rule, rule);
    const old = routed(before, i).policy.limiters;
    if (i < 500) assert.equal(policy.limiters, old, `team-${i} unchanged: same limiters`);
    else assert.notEqual(policy.limiters, old, `team-${i} changed: fresh limiters`);
  }
  const kept = routed(now, 7).policy.limiters;
  assert.ok(kept.rate.take('') > 0, 'team-7: the spent burst stays spent');
  assert.equal(kept.readOnly.inflight, 1, 'team-7: the held slot is still counted');
  const fresh = routed(now, 700).policy.limiters;
  assert.equal(fresh.rate.take(''), 0, 'team-700: new limits, a full bucket');
  assert.equal(fresh.readOnly.inflight, 0);
  assert.equal(now.upstream.endpoints[0], endpoint, 'unchanged endpoint: same sessions and health');
  assert.equal(now.routes.match(parseRequestInfo('GET', '/healthz'), user('x'), '10.1.2.3').name, 'probes');
  assert.equal(now.routes.match(GET, user('someone-else'), '10.1.2.3').name, 'default');
});
