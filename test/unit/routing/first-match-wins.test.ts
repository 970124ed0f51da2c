import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRules } from '../../../src/routing/index.ts';
import { alice, req, rule, who } from './fixtures.ts';

const listPods = req('GET', '/api/v1/namespaces/default/pods');
const systemPods = req('GET', '/api/v1/namespaces/kube-system/pods');

test('the first rule that matches wins, even when later rules match too', () => {
  const table = compileRules(
    [
      rule('writers', { match: { verbs: ['create', 'update'] } }),
      rule('pods', { match: { resources: ['pods'] } }),
      rule('everything'),
    ],
    {},
  );
  assert.equal(table.match(listPods, alice, '10.0.0.1').name, 'pods');
  assert.equal(table.match(req('POST', '/api/v1/namespaces/a/pods'), alice, '10.0.0.1').name, 'writers');
  assert.equal(table.match(req('GET', '/version'), alice, '10.0.0.1').name, 'everything');
});

test('a request that matches no rule gets the default rule', () => {
  const table = compileRules([rule('writers', { match: { verbs: ['create'] } })], { action: 'deny' });
  const hit = table.match(listPods, alice, '10.0.0.1');
  assert.equal(hit, table.defaultRule);
  assert.equal(hit.name, 'default');
  assert.equal(hit.index, -1);
  assert.deepEqual(hit.spec, { action: 'deny' });
});

test('a table without rules routes everything to the default rule', () => {
  const table = compileRules([], {});
  assert.equal(table.match(listPods, alice, '10.0.0.1'), table.defaultRule);
  assert.deepEqual(table.rules, []);
});

test('each rule is one frozen object, the same on every match, so state can be keyed on it', () => {
  const specs = [rule('a', { match: { users: ['bob'] } }), rule('b')];
  const table = compileRules(specs, {});
  const first = table.match(listPods, alice, '10.0.0.1');
  assert.equal(table.match(systemPods, alice, '10.0.0.2'), first);
  assert.equal(first, table.rules[1]);
  assert.deepEqual({ ...first }, { name: 'b', index: 1, spec: specs[1] });
  assert.ok(Object.isFrozen(first));
  assert.ok(Object.isFrozen(table.defaultRule));
  assert.ok(Object.isFrozen(table.rules));
});

test('exclude drops the rule when any one of its fields matches', () => {
  const table = compileRules(
    [
      rule('tenants', {
        match: { verbs: ['get', 'list'] },
        exclude: { namespaces: ['kube-*'], users: ['admin'], clientCIDRs: ['192.168.0.0/16'] },
      }),
      rule('rest'),
    ],
    {},
  );
  const route = (info = listPods, user = 'alice', ip = '10.0.0.1') => table.match(info, who(user), ip).name;
  assert.equal(route(), 'tenants');
  assert.equal(route(systemPods), 'rest');
  assert.equal(route(listPods, 'admin'), 'rest');
  assert.equal(route(listPods, 'alice', '192.168.3.4'), 'rest');
  assert.equal(route(req('DELETE', '/api/v1/namespaces/default/pods/x')), 'rest');
  // Resource selectors in exclude never exclude a non-resource request.
  assert.equal(route(req('GET', '/healthz')), 'tenants');
});

test('exclude alone selects everything but what it names', () => {
  const table = compileRules([rule('not-system', { exclude: { groups: ['system:masters'] } })], {});
  assert.equal(table.match(listPods, alice, '10.0.0.1').name, 'not-system');
  assert.equal(table.match(listPods, who('root', ['system:masters']), '10.0.0.1').name, 'default');
});

test('a service-account rule ahead of a group rule catches only service accounts', () => {
  const table = compileRules(
    [
      rule('controllers', { match: { serviceAccounts: ['kube-system:*'] } }),
      rule('humans', { match: { groups: ['system:authenticated'] } }),
    ],
    {},
  );
  const sa = who('system:serviceaccount:kube-system:deployment-controller', [
    'system:serviceaccounts',
    'system:authenticated',
  ]);
  assert.equal(table.match(listPods, sa, '10.0.0.1').name, 'controllers');
  assert.equal(table.match(listPods, alice, '10.0.0.1').name, 'humans');
  assert.equal(table.match(listPods, who('system:serviceaccount:default:app'), '10.0.0.1').name, 'humans');
});
