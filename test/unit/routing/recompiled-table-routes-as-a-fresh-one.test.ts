import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Rule } from '../../../src/config/schema/rule.ts';
import { compileRules } from '../../../src/routing/index.ts';
import { req, rule, who } from './fixtures.ts';

// A reload compiles the new rules against the previous table, sharing the predicates of rules whose
// match and exclude did not change. Whatever is shared, the table must route and explain exactly as
// one compiled from scratch, and hand out its own RouteRule objects (per-rule state is keyed on them).

const before: Rule[] = [
  rule('probes', { match: { nonResourceURLs: ['/healthz*'] } }),
  rule('ci', { match: { serviceAccounts: ['ci:*'] }, limits: { qps: 5 } }),
  rule('teams', {
    match: { users: ['team-*'], verbs: ['get', 'list'] },
    exclude: { namespaces: ['kube-*'] },
  }),
  rule('nodes', { match: { groups: ['system:nodes'] } }),
];
const after: Rule[] = [
  rule('new-first', { match: { users: ['team-a'] } }),
  // Same match, new name and limits.
  rule('continuous-integration', { match: { serviceAccounts: ['ci:*'] }, limits: { qps: 50 } }),
  rule('teams', {
    match: { users: ['team-*'], verbs: ['get', 'list'] },
    exclude: { namespaces: ['kube-*', 'x'] },
  }),
  rule('probes', { match: { nonResourceURLs: ['/healthz*'] } }),
  rule('nodes', { match: { groups: ['system:nodes', 'system:masters'] } }),
];

const requests = [
  req('GET', '/healthz/etcd'),
  req('GET', '/api/v1/namespaces/default/pods'),
  req('GET', '/api/v1/namespaces/kube-system/pods'),
  req('GET', '/api/v1/namespaces/x/pods'),
  req('DELETE', '/api/v1/namespaces/default/pods/p'),
];
const identities = [
  who('team-a'),
  who('team-b'),
  who('system:serviceaccount:ci:builder'),
  who('system:node:n1', ['system:nodes']),
  who('root', ['system:masters']),
  who('nobody'),
];

test('a table compiled from the previous one routes and explains like one compiled from scratch', () => {
  const previous = compileRules(before, {});
  const reused = compileRules(after, {}, previous);
  const fresh = compileRules(after, {});
  for (const info of requests)
    for (const id of identities) {
      const a = reused.match(info, id, '10.0.0.1');
      const b = fresh.match(info, id, '10.0.0.1');
      assert.deepEqual([a.name, a.index], [b.name, b.index], `${info.verb} ${info.path} as ${id.user}`);
      assert.deepEqual(
        reused.explain(info, id, '10.0.0.1').skipped,
        fresh.explain(info, id, '10.0.0.1').skipped,
      );
    }
  assert.deepEqual(
    reused.rules.map((r) => [r.name, r.index, r.spec]),
    after.map((r, i) => [r.name, i, r]),
  );
  for (const r of reused.rules) assert.ok(!previous.rules.includes(r), `${r.name}: a RouteRule of its own`);
});
