import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ClusterRuntime } from '../../../src/cluster/runtime.ts';
import { resolveCluster } from '../../../src/config/cluster-spec.ts';
import type { ClusterConfig } from '../../../src/config/model.ts';
import type { FileCluster } from '../../../src/config/schema/cluster.ts';

const log = pino({ level: 'silent' });
const material = { ca: 'CA', cert: 'CERT', key: 'KEY' };

function config(patch: Partial<FileCluster>, m = material): ClusterConfig {
  const spec: FileCluster = {
    name: 'c',
    endpoints: [
      { name: 'a', url: 'https://10.0.0.1:6443' },
      { name: 'b', url: 'https://10.0.0.2:6443' },
    ],
    upstreamCA: { file: 'ca' },
    credentials: { certFile: 'crt', keyFile: 'key' },
    rules: [
      { name: 'limited', match: { verbs: ['list'] }, limits: { qps: 5, burst: 5, maxInflightReadOnly: 3 } },
      { name: 'other', match: { verbs: ['get'] }, limits: { qps: 100 } },
    ],
    ...patch,
  };
  return resolveCluster('c', 'file', spec, {}, m);
}

function build(c: ClusterConfig, previous?: ClusterRuntime): ClusterRuntime {
  return new ClusterRuntime(c, log, () => undefined, previous);
}

const byName = (r: ClusterRuntime, name: string) =>
  r.policy([...r.routes.rules, r.routes.defaultRule].find((x) => x.name === name)!);

test('an unchanged rule keeps its limiters (tokens spent stay spent); a changed one starts fresh', () => {
  const one = build(config({}));
  const limited = byName(one, 'limited').limiters;
  for (let i = 0; i < 5; i++) assert.equal(limited.rate.take(''), 0);
  assert.ok(limited.rate.take('') > 0, 'bucket empty after the burst');
  const permit = limited.readOnly.tryAcquire();

  const rules = config({}).rules.map((r) => (r.name === 'other' ? { ...r, limits: { qps: 50 } } : r));
  const two = build(config({ rules }), one);
  assert.equal(byName(two, 'limited').limiters, limited, 'same limiter objects');
  assert.ok(byName(two, 'limited').limiters.rate.take('') > 0, 'still empty after the reload');
  assert.equal(byName(two, 'limited').limiters.readOnly.inflight, 1, 'in-flight count carried over');
  assert.notEqual(byName(two, 'other').limiters, byName(one, 'other').limiters, 'changed limits: fresh');
  permit?.release();
  one.retire(two);
  two.retire(null);
});

test('unchanged endpoints keep their Endpoint (sessions, health, counters); a moved or re-keyed one is new', () => {
  const one = build(config({}));
  const [a, b] = one.upstream.endpoints;
  a.inflight = 7;
  const moved = build(
    config({
      endpoints: [
        { name: 'a', url: 'https://10.0.0.1:6443' },
        { name: 'b', url: 'https://10.0.0.9:6443' },
      ],
    }),
    one,
  );
  assert.equal(moved.upstream.endpoints[0], a, 'a unchanged: same object');
  assert.equal(moved.upstream.endpoints[0].inflight, 7);
  assert.notEqual(moved.upstream.endpoints[1], b, 'b moved: new endpoint');
  const rotated = build(
    config({ endpoints: moved.config.endpoints.map((e) => ({ ...e })) }, { ...material, cert: 'NEW' }),
    moved,
  );
  assert.notEqual(rotated.upstream.endpoints[0], a, 'credentials rotated: new sessions');
  one.retire(moved);
  moved.retire(rotated);
  rotated.retire(null);
});

test('the token cache (authenticator) and the breaker survive a rules-only change', () => {
  const cb = { automatic: { minRequests: 5 } };
  const one = build(config({ circuitBreaker: cb }));
  const two = build(config({ circuitBreaker: cb, rules: [] }), one);
  assert.equal(two.authenticator, one.authenticator);
  assert.equal(two.breaker, one.breaker);
  const three = build(config({ circuitBreaker: { automatic: { minRequests: 9 } }, rules: [] }), two);
  assert.notEqual(three.breaker, two.breaker, 'breaker settings changed: new breaker');
  assert.equal(three.authenticator, one.authenticator);
  one.retire(two);
  two.retire(three);
  three.retire(null);
});
