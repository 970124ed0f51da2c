import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Compile } from 'typebox/compile';
import {
  translateKubeGatewayCluster,
  type KubeGatewayTranslation,
} from '../../../src/config/kubegateway/index.ts';
import { CRDClusterSpec } from '../../../src/config/schema/index.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';
import type { Identity, RequestInfo } from '../../../src/request/types.ts';
import { checkRules, compileRules } from '../../../src/routing/index.ts';
import {
  kubeGatewayRuleMatches,
  type KubeGatewayRequest,
  type KubeGatewayRule,
} from '../../fixtures/kubegateway/reference-matcher.ts';

// Thousands of one-rule KubeGateway clusters, built from every documented way to write a field
// (plain, `*`, `-` negation, several negations, mixed, prefixes, literal stars, empty lists), are
// translated and routed by kubegate, and compared with a reference model of KubeGateway's matcher
// (test/fixtures/kubegateway/reference-matcher.ts) over a set of requests and identities.

type Choices = { [K in keyof KubeGatewayRule]-?: (KubeGatewayRule[K] | undefined)[] };

/** Ways to write each field that KubeGateway and kubegate can read alike (KubeGateway's docs and tests). */
const ALIKE: Choices = {
  verbs: [
    [],
    ['*'],
    ['get'],
    ['get', 'list'],
    ['-get'],
    ['-get', 'list'],
    ['GET'],
    ['-delete'],
    ['ge*'],
    ['-GET'],
  ],
  apiGroups: [undefined, ['*'], [''], ['apps'], ['-apps'], ['-'], ['-apps', ''], ['a*'], ['-a*']],
  resources: [
    undefined,
    ['*'],
    ['pods'],
    ['pods/log'],
    ['*/log'],
    ['-pods'],
    ['-pods/log'],
    ['-pods', 'deployments'],
    ['-*/log'],
    ['pods/*'],
    ['-*'],
  ],
  resourceNames: [undefined, ['nginx'], ['-nginx'], ['*']],
  users: [undefined, ['alice'], ['-admin'], ['user-*'], ['-user-*'], ['*']],
  serviceAccounts: [
    undefined,
    [{ namespace: 'kube-system', name: 'replicaset-controller' }],
    [{ namespace: '', name: 'replicaset-controller' }],
  ],
  userGroups: [undefined, ['system:controllers'], ['*']],
  nonResourceURLs: [
    undefined,
    ['*'],
    ['/healthz'],
    ['/healthz*'],
    ['/healthz/*'],
    ['-/healthz'],
    ['/healthz', '-/version'],
    ['healthz'],
  ],
};

/** Ways that must be reported: several negations (OR), negated groups, literal `*` inside a value. */
const REPORTED: Choices = {
  verbs: [['-get', '-list']],
  apiGroups: [['-apps', '-']],
  resources: [['-pods', '-deployments']],
  resourceNames: [['-nginx', '-web'], ['ng*'], ['-ng*']],
  users: [['-admin', '-alice'], ['a*e'], ['-a*e']],
  serviceAccounts: [],
  userGroups: [['-system:controllers'], ['-system:controllers', '-x']],
  nonResourceURLs: [['/he*z']],
};

const REQUESTS: [string, string][] = [
  ['GET', '/api/v1/namespaces/default/pods'],
  ['GET', '/api/v1/namespaces/default/pods/nginx'],
  ['DELETE', '/api/v1/namespaces/default/pods/web'],
  ['GET', '/api/v1/namespaces/default/pods/nginx/log'],
  ['GET', '/api/v1/namespaces/default/pods/web/status'],
  ['POST', '/apis/apps/v1/namespaces/default/deployments'],
  ['GET', '/apis/apps/v1/namespaces/default/deployments/nginx'],
  ['GET', '/apis/batch/v1/jobs'],
  ['GET', '/healthz'],
  ['GET', '/healthz/etcd'],
  ['POST', '/healthz'],
  ['GET', '/version'],
  ['GET', '/api'],
];
const IDENTITIES: Identity[] = [
  ['alice', ['system:authenticated']],
  ['admin', ['system:masters', 'system:authenticated']],
  ['user-a', ['system:controllers']],
  ['ae', []],
  [
    'system:serviceaccount:kube-system:replicaset-controller',
    ['system:serviceaccounts', 'system:authenticated'],
  ],
  ['a*e', ['system:controllers', 'system:authenticated']],
].map(([user, groups]) => ({ user: user as string, uid: '', groups: groups as string[], extra: {} }));

/** A deterministic stream of picks (a 32-bit LCG), so a failure names a rule that reproduces. */
function picker(seed: number) {
  let s = seed >>> 0;
  return <T>(list: readonly T[]): T => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // The high bits: an LCG's low bits repeat with short periods.
    return list[(s >>> 8) % list.length];
  };
}

function referenceRequest(info: RequestInfo, id: Identity): KubeGatewayRequest {
  const { isResourceRequest, verb, apiGroup, resource, subresource, name, path } = info;
  return {
    isResourceRequest,
    verb,
    apiGroup,
    resource,
    subresource,
    name,
    path,
    user: id.user,
    groups: id.groups,
  };
}

const validSpec = Compile(CRDClusterSpec);

/** Translates a one-rule KubeGateway cluster and compiles it. */
function translateRule(rule: KubeGatewayRule) {
  const t = translateKubeGatewayCluster({
    apiVersion: 'proxy.kubegateway.io/v1alpha1',
    kind: 'UpstreamCluster',
    metadata: { name: 'differential.example.com' },
    spec: { servers: [{ endpoint: 'https://10.0.0.1:6443' }], dispatchPolicies: [{ rules: [rule] }] },
  });
  const rules = t.spec.rules ?? [];
  assert.ok(validSpec.Check(t.spec), JSON.stringify(rule));
  assert.deepEqual(checkRules(rules, 'rules'), [], JSON.stringify(rule));
  return { t, table: compileRules(rules, t.spec.defaultRule ?? {}) };
}

/** Random one-rule clusters from `choices`; `visit` gets each with the requests where both disagree. */
function explore(
  choices: Choices,
  seed: number,
  count: number,
  visit: (rule: KubeGatewayRule, t: KubeGatewayTranslation, disagreements: string[]) => void,
) {
  const pick = picker(seed);
  const infos = REQUESTS.map(([method, url]) => parseRequestInfo(method, url));
  for (let n = 0; n < count; n++) {
    const rule: KubeGatewayRule = {};
    for (const field of Object.keys(ALIKE) as (keyof KubeGatewayRule)[]) {
      const options = [
        ...(ALIKE[field] as unknown[]),
        ...(choices === ALIKE ? [] : (choices[field] as unknown[])),
      ];
      const value = pick(options);
      if (value !== undefined) (rule as Record<string, unknown>)[field] = value;
    }
    const { t, table } = translateRule(rule);
    const disagreements: string[] = [];
    for (const info of infos)
      for (const id of IDENTITIES) {
        const ours = table.match(info, id, '10.1.2.3').name !== 'default';
        const theirs = kubeGatewayRuleMatches(rule, referenceRequest(info, id));
        if (ours !== theirs)
          disagreements.push(
            `${info.verb} ${info.path} as ${id.user}: KubeGateway ${theirs}, kubegate ${ours}`,
          );
      }
    visit(rule, t, disagreements);
  }
}

test('rules written the ways both read alike translate exactly, with nothing reported', () => {
  explore(ALIKE, 20240611, 3000, (rule, t, disagreements) => {
    assert.deepEqual(disagreements, [], JSON.stringify(rule));
    assert.deepEqual(t.unsupported, [], JSON.stringify(rule));
  });
});

test('wherever kubegate would route a translated rule differently, the translation reported that rule', () => {
  let differing = 0;
  explore(REPORTED, 7, 3000, (rule, t, disagreements) => {
    if (disagreements.length === 0) return;
    differing++;
    assert.ok(
      t.unsupported.some((u) => u.path.startsWith('spec.dispatchPolicies[0].rules[0]')),
      `${JSON.stringify(rule)}: ${disagreements[0]}, and nothing reported`,
    );
  });
  // The approximations are real (negated groups, literal stars), so some rules do differ.
  assert.ok(differing > 50, `differing: ${differing}`);
});

test('one negated value is exactly an exclude, for every field that has one request value', () => {
  const cases: [Partial<KubeGatewayRule>, Record<string, string[]>][] = [
    [{ verbs: ['-get'] }, { verbs: ['get'] }],
    [{ apiGroups: ['-apps'] }, { apiGroups: ['apps'] }],
    [{ apiGroups: ['-'] }, { apiGroups: [''] }],
    [{ resources: ['-pods'] }, { resources: ['pods'] }],
    [{ resources: ['-pods/log'] }, { resources: ['pods/log'] }],
    [{ resourceNames: ['-nginx'] }, { names: ['nginx'] }],
    [{ users: ['-admin'] }, { users: ['admin'] }],
    [{ verbs: ['-get', '-get'] }, { verbs: ['get'] }],
  ];
  for (const [fields, exclude] of cases) {
    const rule = { verbs: ['*'], apiGroups: ['*'], resources: ['*'], ...fields };
    const t = translateKubeGatewayCluster({
      metadata: { name: 'x' },
      spec: { servers: [{ endpoint: 'https://10.0.0.1:6443' }], dispatchPolicies: [{ rules: [rule] }] },
    });
    assert.deepEqual(t.spec.rules?.[0].exclude, exclude, JSON.stringify(fields));
    assert.deepEqual(t.unsupported, [], JSON.stringify(fields));
  }
});
