import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Rule } from '../../../src/config/schema/rule.ts';
import { checkRule, checkRules } from '../../../src/routing/index.ts';
import { rule } from './fixtures.ts';

const P = 'clusters[0].rules[2]';
const paths = (r: Rule) => checkRule(r, P).map((i) => i.path);

test('a sound rule has no issues', () => {
  const r = rule('ok', {
    match: {
      verbs: ['get', '*'],
      apiGroups: ['', 'apps', '*.k8s.io'],
      resources: ['pods', 'pods/log', '*/scale', '*'],
      namespaces: ['', 'kube-*'],
      names: ['x*'],
      users: ['system:*'],
      groups: ['dev'],
      serviceAccounts: ['kube-system:*', '*:default'],
      clientCIDRs: ['10.0.0.0/8', '2001:db8::/32', '::ffff:10.0.0.0/104', '10.0.0.1'],
    },
    exclude: { namespaces: ['kube-system'], nonResourceURLs: ['/healthz*', '*'] },
    action: 'deny',
    deny: { code: 429 },
  });
  assert.deepEqual(checkRule(r, P), []);
});

test("each entry problem is reported at the entry's exact path", () => {
  const issues = checkRule(
    rule('bad', {
      match: {
        verbs: ['GET'],
        resources: ['pods/*', 'pods/log/x', 'pods/', '*/*'],
        users: [''],
        serviceAccounts: ['kube-system', 'a:b:c', ':x', 'ns:name'],
        clientCIDRs: ['10.0.0.0/8', '10.0.0.0/33', 'fe80::/129', 'nope'],
      },
      exclude: { nonResourceURLs: ['healthz', '/a/*/b', '/ok*'], groups: [] },
    }),
    P,
  );
  assert.deepEqual(
    issues.map((i) => i.path),
    [
      `${P}.match.verbs[0]`,
      `${P}.match.resources[0]`,
      `${P}.match.resources[1]`,
      `${P}.match.resources[2]`,
      `${P}.match.resources[3]`,
      `${P}.match.users[0]`,
      `${P}.match.serviceAccounts[0]`,
      `${P}.match.serviceAccounts[1]`,
      `${P}.match.serviceAccounts[2]`,
      `${P}.match.clientCIDRs[1]`,
      `${P}.match.clientCIDRs[2]`,
      `${P}.match.clientCIDRs[3]`,
      `${P}.exclude.nonResourceURLs[0]`,
      `${P}.exclude.nonResourceURLs[1]`,
      `${P}.exclude.groups`,
    ],
  );
  const byPath = new Map(issues.map((i) => [i.path, i.message]));
  assert.equal(
    byPath.get(`${P}.match.clientCIDRs[1]`),
    '"10.0.0.0/33" is not an address range like 10.0.0.0/8 or 2001:db8::/32',
  );
  assert.match(byPath.get(`${P}.match.resources[0]`)!, /"pods\/\*" never matches: RBAC knows only/);
  assert.equal(byPath.get(`${P}.match.users[0]`), 'empty pattern');
  assert.match(byPath.get(`${P}.match.serviceAccounts[0]`)!, /is not namespace:name/);
  assert.equal(
    byPath.get(`${P}.exclude.nonResourceURLs[0]`),
    '"healthz" does not start with "/" (or is "*")',
  );
  assert.match(byPath.get(`${P}.exclude.groups`)!, /excludes nothing/);
});

test('"" is a pattern only for apiGroups and namespaces', () => {
  for (const field of [
    'verbs',
    'resources',
    'names',
    'users',
    'groups',
    'serviceAccounts',
    'nonResourceURLs',
    'clientCIDRs',
  ] as const) {
    assert.deepEqual(paths(rule('r', { match: { [field]: [''] } })), [`${P}.match.${field}[0]`], field);
  }
  assert.deepEqual(paths(rule('r', { match: { apiGroups: [''], namespaces: [''] } })), []);
});

test('a match that mixes resource selectors with nonResourceURLs is reported on match', () => {
  const issues = checkRule(
    rule('r', { match: { namespaces: ['a'], resources: ['pods'], nonResourceURLs: ['/x'] } }),
    P,
  );
  assert.deepEqual(issues, [
    {
      path: `${P}.match`,
      message:
        'resources, namespaces select resource requests and nonResourceURLs non-resource requests, so this never matches: use two rules',
    },
  ]);
  // In exclude each field stands alone, so the mix means "neither these namespaces nor these URLs".
  assert.deepEqual(paths(rule('r', { exclude: { namespaces: ['a'], nonResourceURLs: ['/x'] } })), []);
});

test('deny without action: deny is reported', () => {
  assert.deepEqual(checkRule(rule('r', { deny: { code: 429 } }), P), [
    { path: `${P}.deny`, message: 'deny is used only with action: deny' },
  ]);
  assert.deepEqual(paths(rule('r', { action: 'proxy', deny: {} })), [`${P}.deny`]);
});

test("checkRules reports duplicate names, the reserved name and every rule's issues", () => {
  const issues = checkRules(
    [rule('a'), rule('b', { deny: {} }), rule('a'), rule('default'), rule('b')],
    'clusters[1].rules',
  );
  assert.deepEqual(issues, [
    { path: 'clusters[1].rules[1].deny', message: 'deny is used only with action: deny' },
    { path: 'clusters[1].rules[2].name', message: 'duplicate rule name "a" (also clusters[1].rules[0])' },
    { path: 'clusters[1].rules[3].name', message: '"default" is the name of the default rule' },
    { path: 'clusters[1].rules[4].name', message: 'duplicate rule name "b" (also clusters[1].rules[1])' },
  ]);
});

test('a rule checked at the top level gets paths without a prefix', () => {
  assert.deepEqual(
    checkRule(rule('r', { match: { clientCIDRs: ['x'] } }), '').map((i) => i.path),
    ['match.clientCIDRs[0]'],
  );
});
