import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Compile } from 'typebox/compile';
import { parse } from 'yaml';
import { kubeGatewaySecrets, translateKubeGatewayCluster } from '../../../src/config/kubegateway/index.ts';
import type { KubeGatewayTranslation } from '../../../src/config/kubegateway/index.ts';
import { CRDClusterSpec, UpstreamCluster } from '../../../src/config/schema/index.ts';
import { parseRequestInfo } from '../../../src/request/request-info.ts';
import { checkRules, compileRules } from '../../../src/routing/index.ts';

// KubeGateway's documented examples (docs/en/quick_start.md, docs/en/design.md, hack/testdata),
// rewritten as fixtures, translated, and compared with the expected kubegate objects next to them;
// then routed through kubegate's rule table to check that requests land where KubeGateway's docs say.

const FIXTURES = new URL('../../fixtures/kubegateway/', import.meta.url);
const EXAMPLES = [
  'quick-start',
  'read-write-separation',
  'list-pods-limit',
  'user-a-limit',
  'full-quote',
  'local-up',
  'anti-selection',
] as const;
type Example = (typeof EXAMPLES)[number];

const load = (file: string): unknown => parse(readFileSync(new URL(file, FIXTURES), 'utf8'));
const translate = (example: Example) => translateKubeGatewayCluster(load(`${example}.yaml`));
const validUpstreamCluster = Compile(UpstreamCluster);
const validSpec = Compile(CRDClusterSpec);

/** The rule kubegate picks for a request, as `{ name, upstream, limits, action }`. */
function route(
  t: KubeGatewayTranslation,
  method: string,
  url: string,
  user = 'alice',
  groups = ['system:authenticated'],
) {
  const table = compileRules(t.spec.rules ?? [], t.spec.defaultRule ?? {});
  const rule = table.match(parseRequestInfo(method, url), { user, uid: '', groups, extra: {} }, '10.1.2.3');
  const { upstream, limits, action, deny } = rule.spec;
  return { name: rule.name, upstream, limits, action, code: deny?.code };
}

test('each documented example translates to the kubegate UpstreamCluster beside it', () => {
  for (const example of EXAMPLES) {
    const expected = load(`${example}.expected.yaml`) as { metadata: { name: string }; spec: unknown };
    assert.ok(
      validUpstreamCluster.Check(expected),
      `${example}.expected.yaml is a valid kubegate UpstreamCluster`,
    );
    const t = translate(example);
    assert.equal(t.name, expected.metadata.name, example);
    assert.deepEqual(t.spec, expected.spec, example);
    assert.ok(validSpec.Check(t.spec), `${example}: spec passes the CRD schema`);
    assert.deepEqual(checkRules(t.spec.rules ?? [], 'rules'), [], `${example}: rules pass checkRules`);
  }
});

test('every field not carried over exactly is reported with its exact path', () => {
  const expected: Record<Example, string[]> = {
    'quick-start': [],
    'read-write-separation': [],
    'list-pods-limit': [],
    'user-a-limit': [],
    'full-quote': ['spec.flowControl'],
    'local-up': [],
    'anti-selection': [
      'metadata.annotations["proxy.kubegateway.io/feature-gates"]',
      'spec.clientConfig.qps',
      'spec.clientConfig.burst',
      'spec.flowControl.flowControlSchemas[2].maxRequestsInflight.max',
      'spec.dispatchPolicies[0].logMode',
      'spec.dispatchPolicies[2].rules[0].userGroups',
      'spec.dispatchPolicies[4].rules[0].resources',
      'spec.dispatchPolicies[5].strategy',
    ],
  };
  for (const example of EXAMPLES) {
    const t = translate(example);
    assert.deepEqual(
      t.unsupported.map((u) => u.path),
      expected[example],
      example,
    );
    for (const u of t.unsupported) assert.ok(u.reason.length > 20, `${example} ${u.path} says why`);
  }
});

test('the quick-start cluster keeps its endpoint, names its Secrets and becomes one rule per policy', () => {
  const t = translate('quick-start');
  assert.equal(t.name, 'cluster-a-kubegateway-io');
  assert.deepEqual(t.spec.endpoints, [{ name: '10-0-0-10-6443', url: 'https://10.0.0.10:6443' }]);
  const upstream = { namespace: 'kubegate-system', name: 'cluster-a-kubegateway-io-upstream' };
  assert.deepEqual(t.spec.upstreamCA, { secretRef: upstream });
  assert.deepEqual(t.spec.credentials, { secretRef: upstream });
  assert.deepEqual(t.spec.clientCA, {
    secretRef: { namespace: 'kubegate-system', name: 'cluster-a-kubegateway-io-client-ca' },
  });
  assert.equal(t.spec.balancer, 'round-robin');
  assert.equal(t.spec.circuitBreaker, undefined);
  const [resources, urls] = t.spec.rules ?? [];
  assert.deepEqual(resources, { name: 'policy-0-rule-0', match: { apiGroups: ['*'], resources: ['*'] } });
  assert.deepEqual(urls, { name: 'policy-1-rule-0', match: { nonResourceURLs: ['*'] } });
  assert.deepEqual(t.spec.defaultRule, {
    action: 'deny',
    deny: { code: 500, message: 'no dispatch policy matches this request' },
  });
  assert.equal(route(t, 'GET', '/api/v1/namespaces/default/pods').name, 'policy-0-rule-0');
  assert.equal(route(t, 'GET', '/readyz').name, 'policy-1-rule-0');
});

test('inline certificates come back decoded in materials and as the Secrets the spec names', () => {
  const t = translate('quick-start');
  const pem = (label: string, text: string) =>
    `-----BEGIN ${label}-----\n${Buffer.from(text).toString('base64')}\n-----END ${label}-----`;
  assert.equal(t.materials.ca, pem('CERTIFICATE', 'fake apiserver CA for kubegate tests'));
  assert.equal(t.materials.cert, pem('CERTIFICATE', 'fake gateway client cert for tests'));
  assert.equal(t.materials.key, pem('EC PRIVATE KEY', 'fake gateway client key for tests'));
  assert.equal(t.materials.clientCA, pem('CERTIFICATE', 'fake client CA for tests'));
  assert.equal(t.materials.servingCert, pem('CERTIFICATE', 'fake serving cert for tests'));
  assert.equal(t.materials.servingKey, pem('EC PRIVATE KEY', 'fake serving key for tests'));
  assert.equal(t.materials.token, undefined);
  const secrets = kubeGatewaySecrets(t);
  assert.deepEqual(
    secrets.map((s) => [s.metadata.namespace, s.metadata.name, Object.keys(s.stringData)]),
    [
      ['kubegate-system', 'cluster-a-kubegateway-io-upstream', ['ca.crt', 'tls.crt', 'tls.key']],
      ['kubegate-system', 'cluster-a-kubegateway-io-client-ca', ['ca.crt']],
      ['kubegate-system', 'cluster-a-kubegateway-io-serving', ['tls.crt', 'tls.key']],
    ],
  );
  assert.equal(secrets[0].stringData['tls.key'], t.materials.key);

  const rw = translate('read-write-separation');
  assert.equal(rw.materials.token, 'fake-bearer-token-for-tests');
  assert.deepEqual(Object.keys(kubeGatewaySecrets(rw)[0].stringData), ['ca.crt', 'token']);
});

test('read-write separation sends get, list and watch to ip-a and other resource requests to ip-b', () => {
  const t = translate('read-write-separation');
  assert.deepEqual(
    t.spec.endpoints.map((e) => e.name),
    ['ip-a-6443', 'ip-b-6443'],
  );
  const table: [string, string, string, string[] | undefined][] = [
    ['GET', '/api/v1/namespaces/default/pods', 'policy-0-rule-0', ['ip-a-6443']],
    ['GET', '/api/v1/namespaces/default/pods/web', 'policy-0-rule-0', ['ip-a-6443']],
    ['GET', '/apis/apps/v1/deployments?watch=true', 'policy-0-rule-0', ['ip-a-6443']],
    ['POST', '/apis/apps/v1/namespaces/default/deployments', 'policy-1-rule-0', ['ip-b-6443']],
    ['DELETE', '/api/v1/namespaces/default/pods/web', 'policy-1-rule-0', ['ip-b-6443']],
    ['PATCH', '/api/v1/nodes/n1/status', 'policy-1-rule-0', ['ip-b-6443']],
    // The example has no policy for non-resource requests, so KubeGateway answers them with 500.
    ['GET', '/version', 'default', undefined],
  ];
  for (const [method, url, rule, upstream] of table) {
    const r = route(t, method, url);
    assert.equal(r.name, rule, `${method} ${url}`);
    assert.deepEqual(r.upstream, upstream, `${method} ${url}`);
  }
  assert.equal(route(t, 'GET', '/version').code, 500);
});

test('the list-pods limit applies 10 qps with burst 20 to listing pods and to nothing else', () => {
  const t = translate('list-pods-limit');
  const table: [string, string, string][] = [
    ['GET', '/api/v1/namespaces/default/pods', 'policy-0-rule-0'],
    ['GET', '/api/v1/pods', 'policy-0-rule-0'],
    ['GET', '/api/v1/namespaces/default/pods/web', 'default'],
    ['GET', '/api/v1/namespaces/default/pods?watch=1', 'default'],
    ['GET', '/api/v1/namespaces/default/pods/web/log', 'default'],
    ['GET', '/api/v1/namespaces/default/configmaps', 'default'],
  ];
  for (const [method, url, rule] of table) assert.equal(route(t, method, url).name, rule, `${method} ${url}`);
  assert.deepEqual(route(t, 'GET', '/api/v1/pods').limits, { qps: 10, burst: 20 });
});

test('the user-a limit applies to user-a only', () => {
  const t = translate('user-a-limit');
  const listPods = '/api/v1/namespaces/default/pods';
  assert.deepEqual(route(t, 'GET', listPods, 'user-a'), {
    name: 'policy-0-rule-0',
    upstream: undefined,
    limits: { qps: 10, burst: 20 },
    action: undefined,
    code: undefined,
  });
  assert.equal(route(t, 'GET', listPods, 'user-b').name, 'default');
  assert.equal(route(t, 'GET', listPods, 'user-a-2').name, 'default');
  assert.equal(route(t, 'GET', '/healthz', 'user-a').name, 'default');
});

test('a rule with resource and non-resource selectors becomes two rules that together match both kinds', () => {
  const t = translate('local-up');
  assert.deepEqual(
    (t.spec.rules ?? []).map((r) => r.name),
    ['policy-0-rule-0-resources', 'policy-0-rule-0-urls'],
  );
  assert.equal(route(t, 'GET', '/api/v1/pods').name, 'policy-0-rule-0-resources');
  assert.equal(route(t, 'GET', '/healthz').name, 'policy-0-rule-0-urls');
  assert.equal(route(t, 'GET', '/api').name, 'policy-0-rule-0-urls');
});

test('the full-quote example, whose flowControl is a list, is reported and its policy gets no limit', () => {
  const t = translate('full-quote');
  const [flowControl] = t.unsupported;
  assert.equal(flowControl.path, 'spec.flowControl');
  assert.match(flowControl.reason, /flowControlSchemas/);
  assert.ok(t.notes.some((n) => n.path === 'spec.dispatchPolicies[0].flowControlSchemaName'));
  assert.equal(route(t, 'GET', '/api/v1/pods').limits, undefined);
});

test('anti-selection: single negations become exclude, and requests route as KubeGateway routes them', () => {
  const t = translate('anti-selection');
  const rules = t.spec.rules ?? [];
  const byName = new Map(rules.map((r) => [r.name, r]));
  assert.deepEqual(byName.get('policy-2-rule-0')?.exclude, {
    verbs: ['get'],
    apiGroups: ['apps'],
    names: ['nginx'],
    users: ['admin'],
  });
  assert.deepEqual(byName.get('policy-1-rule-0')?.match?.users, [
    'system:kube-controller-manager*',
    'system:serviceaccount:kube-system:replicaset-controller',
  ]);
  assert.deepEqual(byName.get('policy-1-rule-0')?.limits, {
    maxInflightReadOnly: 1,
    maxInflightMutating: 1,
    maxLongRunning: 1,
  });
  assert.deepEqual(byName.get('policy-3-rule-0')?.match?.resources, ['deployments']);
  // The third server is disabled: left out of endpoints and of policy 4's subset.
  assert.deepEqual(
    t.spec.endpoints.map((e) => e.name),
    ['10-0-0-10-6443', '10-0-0-11-6443'],
  );
  assert.deepEqual(byName.get('policy-4-rule-0')?.upstream, ['10-0-0-10-6443']);
  assert.equal(byName.has('policy-5-rule-0'), false, 'the rule with empty verbs is dropped');
  assert.equal(t.spec.circuitBreaker, undefined, 'DenyAllRequests=false');

  const sa = 'system:serviceaccount:kube-system:replicaset-controller';
  const controllers = ['system:controllers', 'system:authenticated'];
  const table: [string, string, string, string[] | undefined, string][] = [
    ['GET', '/healthz', 'alice', undefined, 'policy-0-rule-0'],
    ['POST', '/healthz/poststarthook', 'alice', undefined, 'policy-0-rule-0'],
    ['GET', '/healthzz', 'alice', undefined, 'policy-5-rule-1-urls'],
    ['GET', '/api/v1/namespaces/default/pods', sa, undefined, 'policy-1-rule-0'],
    ['GET', '/api/v1/nodes', 'system:kube-controller-manager', undefined, 'policy-1-rule-0'],
    // Deletes are excluded from the controllers' policy and fall through to the next one.
    ['DELETE', '/api/v1/namespaces/default/pods/web', sa, undefined, 'policy-2-rule-0'],
    ['GET', '/api/v1/namespaces/default/pods', 'alice', undefined, 'policy-2-rule-0'],
    // KubeGateway's "-system:controllers" lets members of system:controllers through (they have
    // system:authenticated too); kubegate, translated as KubeGateway behaves, does the same.
    ['GET', '/api/v1/namespaces/default/pods', 'alice', controllers, 'policy-2-rule-0'],
    ['GET', '/api/v1/namespaces/default/pods/web', 'alice', undefined, 'policy-4-rule-0'],
    ['GET', '/api/v1/namespaces/default/pods', 'admin', undefined, 'policy-4-rule-0'],
    ['DELETE', '/api/v1/namespaces/default/pods/nginx', 'alice', undefined, 'policy-4-rule-0'],
    ['GET', '/apis/apps/v1/namespaces/default/deployments', 'alice', undefined, 'policy-3-rule-0'],
    // "-pods, -deployments" holds for every resource, pods included.
    ['GET', '/apis/apps/v1/namespaces/default/statefulsets/db', 'alice', undefined, 'policy-4-rule-0'],
    ['GET', '/version', 'alice', undefined, 'policy-5-rule-1-urls'],
  ];
  for (const [method, url, user, groups, rule] of table)
    assert.equal(route(t, method, url, user, groups).name, rule, `${method} ${url} as ${user}`);
});
