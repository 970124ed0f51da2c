import assert from 'node:assert/strict';
import { test } from 'node:test';
import { req, selects } from './fixtures.ts';

// The cases of RBAC's ResourceMatches / NonResourceURLMatches (k8s.io/kubernetes
// pkg/apis/rbac/v1/evaluation_helpers.go): a rule selects what a Role with the same list would allow.

const pod = req('GET', '/api/v1/namespaces/a/pods/p');
const podLog = req('GET', '/api/v1/namespaces/a/pods/p/log');
const podExec = req('POST', '/api/v1/namespaces/a/pods/p/exec');
const deployScale = req('GET', '/apis/apps/v1/namespaces/a/deployments/d/scale');
const deployment = req('GET', '/apis/apps/v1/namespaces/a/deployments/d');
const nodes = req('GET', '/api/v1/nodes');
const nodeProxy = req('GET', '/api/v1/nodes/n1/proxy/metrics');

test('resources follow RBAC: subresources are listed explicitly, */sub spans resources', () => {
  const cases: [string[], typeof pod, boolean][] = [
    [['pods'], pod, true],
    [['pods'], podLog, false],
    [['pods/log'], podLog, true],
    [['pods/log'], pod, false],
    [['pods/log'], podExec, false],
    [['pods', 'pods/log'], podLog, true],
    [['*'], podLog, true],
    [['*'], nodes, true],
    [['*/scale'], deployScale, true],
    [['*/scale'], deployment, false],
    [['*/log'], podLog, true],
    [['*/log'], pod, false],
    // RBAC has no "any subresource of pods": pods/* is compared literally and never matches.
    [['pods/*'], podLog, false],
    [['pods/*'], pod, false],
    [['*/*'], podLog, false],
    [['pods/'], pod, false],
    [['deployments/scale'], deployScale, true],
    [['nodes/proxy'], nodeProxy, true],
    [['nodes'], nodeProxy, false],
    [['nodes'], nodes, true],
    [['pod'], pod, false],
  ];
  for (const [resources, info, expected] of cases) {
    assert.equal(selects({ match: { resources } }, info), expected, `${resources} on ${info.path}`);
  }
});

test('resource selectors never match non-resource requests, in match or exclude', () => {
  const healthz = req('GET', '/healthz');
  for (const field of ['apiGroups', 'resources', 'namespaces', 'names'] as const) {
    assert.equal(selects({ match: { [field]: ['*'] } }, healthz), false, field);
    assert.equal(selects({ exclude: { [field]: ['*'] } }, healthz), true, field);
  }
});

test('nonResourceURLs follow RBAC: exact, a trailing * is a prefix, * is every path', () => {
  const cases: [string[], string, boolean][] = [
    [['/healthz'], '/healthz', true],
    [['/healthz'], '/healthz/etcd', false],
    [['/healthz*'], '/healthz/etcd', true],
    [['/healthz*'], '/healthz', true],
    [['/healthz/*'], '/healthz', false],
    [['/healthz/*'], '/healthz/ping', true],
    [['/healthz**'], '/healthzz', true],
    [['*'], '/version', true],
    [['/livez', '/readyz'], '/readyz', true],
    // A * that is not trailing is literal in RBAC.
    [['/metrics/*/x'], '/metrics/a/x', false],
    [['/metrics/*/x'], '/metrics/*/x', true],
  ];
  for (const [nonResourceURLs, path, expected] of cases) {
    assert.equal(
      selects({ match: { nonResourceURLs } }, req('GET', path)),
      expected,
      `${nonResourceURLs} on ${path}`,
    );
  }
});

test('nonResourceURLs never match resource requests', () => {
  assert.equal(selects({ match: { nonResourceURLs: ['*'] } }, pod), false);
  assert.equal(selects({ match: { nonResourceURLs: ['/api*'] } }, pod), false);
  assert.equal(selects({ exclude: { nonResourceURLs: ['*'] } }, pod), true);
});

test('a rule that selects neither kind applies to both kinds of request', () => {
  assert.equal(selects({ match: { verbs: ['get'] } }, pod), true);
  assert.equal(selects({ match: { verbs: ['get'] } }, req('GET', '/version')), true);
  assert.equal(selects({ match: { users: ['alice'] } }, req('GET', '/version')), true);
});
