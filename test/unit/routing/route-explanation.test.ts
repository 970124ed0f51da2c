import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Rule } from '../../../src/config/schema/rule.ts';
import { compileRules, formatExplanation } from '../../../src/routing/index.ts';
import { alice, req, rule, who } from './fixtures.ts';

const reasonOf = (
  r: Rule,
  info = req('GET', '/api/v1/namespaces/kube-system/pods/x/log'),
  identity = alice,
  ip = '10.0.0.1',
) => compileRules([r], {}).explain(info, identity, ip).skipped[0]?.reason ?? '(matched)';

test('each skipped rule names the first field that failed and why', () => {
  const sa = who('system:serviceaccount:kube-system:coredns');
  const cases: [Rule, string, ReturnType<typeof who>?, string?][] = [
    [rule('r', { match: { verbs: ['list', 'watch'] } }), 'match.verbs: "get" is not one of [list, watch]'],
    [rule('r', { match: { verbs: ['l*'] } }), 'match.verbs: "get" matches none of [l*]'],
    [rule('r', { match: { apiGroups: ['apps'] } }), 'match.apiGroups: "" is not one of [apps]'],
    [rule('r', { match: { resources: ['pods'] } }), 'match.resources: "pods/log" is not one of [pods]'],
    [
      rule('r', { match: { namespaces: ['', 'default'] } }),
      'match.namespaces: "kube-system" is not one of ["", default]',
    ],
    [rule('r', { match: { names: ['y*'] } }), 'match.names: "x" matches none of [y*]'],
    [
      rule('r', { match: { nonResourceURLs: ['/healthz'] } }),
      'match.nonResourceURLs: "/api/v1/namespaces/kube-system/pods/x/log" is a resource request',
    ],
    [rule('r', { match: { users: ['bob'] } }), 'match.users: "alice" is not one of [bob]'],
    [
      rule('r', { match: { groups: ['ops'] } }),
      'match.groups: no group of [dev, system:authenticated] is one of [ops]',
    ],
    [
      rule('r', { match: { serviceAccounts: ['default:*'] } }),
      'match.serviceAccounts: "alice" is not a service account',
    ],
    [
      rule('r', { match: { serviceAccounts: ['default:*'] } }),
      'match.serviceAccounts: "kube-system:coredns" matches none of [default:*]',
      sa,
    ],
    [
      rule('r', { match: { clientCIDRs: ['192.168.0.0/16'] } }),
      'match.clientCIDRs: "10.0.0.1" is not in [192.168.0.0/16]',
    ],
    [
      rule('r', { match: { clientCIDRs: ['192.168.0.0/16'] } }),
      'match.clientCIDRs: "?" is not an IP address',
      alice,
      '?',
    ],
    // The first failing field in test order is the one named.
    [rule('r', { match: { users: ['bob'], verbs: ['list'] } }), 'match.verbs: "get" is not one of [list]'],
    [
      rule('r', { exclude: { namespaces: ['kube-*'] } }),
      'exclude.namespaces: "kube-system" matches "kube-*"',
    ],
    [rule('r', { exclude: { verbs: ['create', 'get'] } }), 'exclude.verbs: "get" matches "get"'],
    [rule('r', { exclude: { resources: ['*/log'] } }), 'exclude.resources: "pods/log" matches "*/log"'],
    [
      rule('r', { exclude: { groups: ['system:*'] } }),
      'exclude.groups: "system:authenticated" matches "system:*"',
    ],
    [
      rule('r', { exclude: { serviceAccounts: ['kube-system:*'] } }),
      'exclude.serviceAccounts: "kube-system:coredns" matches "kube-system:*"',
      sa,
    ],
    [
      rule('r', { exclude: { clientCIDRs: ['::1', '10.0.0.0/8'] } }),
      'exclude.clientCIDRs: "10.0.0.1" is in "10.0.0.0/8"',
    ],
    [rule('r', { match: { verbs: ['get'] }, exclude: { users: ['bob'] } }), '(matched)'],
  ];
  for (const [r, expected, identity, ip] of cases)
    assert.equal(reasonOf(r, undefined, identity, ip), expected);
});

test('a non-resource request explains why resource selectors skip it', () => {
  const healthz = req('GET', '/healthz');
  assert.equal(
    reasonOf(rule('r', { match: { namespaces: ['*'] } }), healthz),
    'match.namespaces: "/healthz" is not a resource request',
  );
  assert.equal(
    reasonOf(rule('r', { match: { nonResourceURLs: ['/livez*', '/readyz'] } }), healthz),
    'match.nonResourceURLs: "/healthz" matches none of [/livez*, /readyz]',
  );
});

test('explain lists every earlier rule and ends on the rule match returns', () => {
  const table = compileRules(
    [
      rule('exec', { match: { resources: ['pods/exec'] } }),
      rule('system', { exclude: { namespaces: ['kube-*'] } }),
      rule('logs', { match: { resources: ['pods/log'] } }),
      rule('later'),
    ],
    {},
  );
  const info = req('GET', '/api/v1/namespaces/kube-system/pods/x/log');
  const e = table.explain(info, alice, '10.0.0.1');
  assert.equal(e.rule, table.match(info, alice, '10.0.0.1'));
  assert.equal(e.rule.name, 'logs');
  assert.deepEqual(e.skipped, [
    { name: 'exec', index: 0, reason: 'match.resources: "pods/log" is not one of [pods/exec]' },
    { name: 'system', index: 1, reason: 'exclude.namespaces: "kube-system" matches "kube-*"' },
  ]);
});

test('explain agrees with match on every combination of a few rules and requests', () => {
  const rules: Rule[] = [
    rule('a', { match: { verbs: ['get'], namespaces: ['kube-*', ''] }, exclude: { users: ['bob'] } }),
    rule('b', { match: { nonResourceURLs: ['/healthz*'] }, exclude: { clientCIDRs: ['10.0.0.0/8'] } }),
    rule('c', { match: { resources: ['pods/*', '*/log', 'nodes'], groups: ['dev'] } }),
    rule('d', { match: { serviceAccounts: ['*:*'] }, exclude: { apiGroups: ['apps'] } }),
    rule('e', { exclude: { verbs: ['delete*'] } }),
  ];
  const infos = [
    req('GET', '/api/v1/namespaces/kube-system/pods'),
    req('GET', '/api/v1/nodes'),
    req('DELETE', '/api/v1/nodes/n'),
    req('GET', '/api/v1/namespaces/a/pods/p/log'),
    req('GET', '/healthz/etcd'),
    req('DELETE', '/apis/apps/v1/namespaces/a/deployments'),
  ];
  const ids = [alice, who('bob', ['dev']), who('system:serviceaccount:a:b', [])];
  for (let mask = 0; mask < 32; mask++) {
    const table = compileRules(
      rules.filter((_, i) => mask & (1 << i)),
      { action: 'deny' },
    );
    for (const info of infos)
      for (const id of ids)
        for (const ip of ['10.1.1.1', '::1']) {
          const e = table.explain(info, id, ip);
          assert.equal(e.rule, table.match(info, id, ip));
          assert.equal(e.skipped.length, e.rule.index < 0 ? table.rules.length : e.rule.index);
        }
  }
});

test('formatExplanation prints the request, the identity, each rule tried and the outcome', () => {
  const table = compileRules(
    [
      rule('block-exec', { match: { verbs: ['create'], resources: ['pods/exec'] } }),
      rule('system', { exclude: { namespaces: ['kube-*'] } }),
      rule('readers', {
        match: { groups: ['dev'] },
        action: 'deny',
        deny: { code: 429, message: 'slow down', retryAfterSeconds: 5 },
        limits: { qps: 10, queue: { length: 5 }, burst: 20 },
        upstream: ['a', 'b'],
      }),
    ],
    {},
  );
  const info = req('GET', '/api/v1/namespaces/kube-system/pods/x/log');
  const text = formatExplanation(info, alice, '10.0.0.1', table.explain(info, alice, '10.0.0.1'));
  assert.equal(
    text,
    `request:
  kind:        resource
  verb:        get
  path:        /api/v1/namespaces/kube-system/pods/x/log
  apiGroup:    "" (core)
  apiVersion:  v1
  namespace:   kube-system
  resource:    pods/log
  name:        x
identity:
  user:        alice
  groups:      [dev, system:authenticated]
  clientIP:    10.0.0.1
rules:
  [0] block-exec  skipped: match.verbs: "get" is not one of [create]
  [1] system      skipped: exclude.namespaces: "kube-system" matches "kube-*"
  [2] readers     matched
result:
  rule:        readers (rules[2])
  action:      deny 429 "slow down" retry-after=5s
  upstream:    a, b
  limits:      burst=20 qps=10 queue.length=5
  exempt:      no
`,
  );
});

test('formatExplanation of a non-resource request that falls through to the default rule', () => {
  const table = compileRules([rule('pods', { match: { resources: ['pods'] } })], {
    action: 'deny',
    exempt: true,
  });
  const info = req('GET', '/version');
  const id = who('system:anonymous', []);
  const text = formatExplanation(info, id, '::1', table.explain(info, id, '::1'));
  assert.equal(
    text,
    `request:
  kind:        non-resource
  verb:        get
  path:        /version
identity:
  user:        system:anonymous
  groups:      []
  clientIP:    ::1
rules:
  [0] pods  skipped: match.resources: "/version" is not a resource request
  default   matched (no rule matched)
result:
  rule:        default (defaultRule)
  action:      deny 403
  upstream:    all endpoints
  limits:      none
  exempt:      yes
`,
  );
});
