import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Match } from '../../../src/config/schema/match.ts';
import type { Identity, RequestInfo } from '../../../src/request/types.ts';
import { alice, req, selects, who } from './fixtures.ts';

type Case = [Match, RequestInfo, boolean, Identity?];

const getPods = req('GET', '/api/v1/namespaces/kube-system/pods/coredns');
const listPods = req('GET', '/api/v1/namespaces/default/pods');
const listNodes = req('GET', '/api/v1/nodes');
const allPods = req('GET', '/api/v1/pods');
const deployments = req('GET', '/apis/apps/v1/namespaces/default/deployments');
const healthz = req('GET', '/healthz');

function run(cases: Case[]): void {
  for (const [match, info, expected, identity] of cases) {
    const got = selects({ match }, info, identity ?? alice);
    assert.equal(
      got,
      expected,
      `${JSON.stringify(match)} on ${info.verb} ${info.path} (${identity?.user ?? 'alice'})`,
    );
  }
}

test('verbs: any listed verb; non-resource requests use the lowercase HTTP method', () => {
  run([
    [{ verbs: ['get'] }, getPods, true],
    [{ verbs: ['list', 'watch'] }, getPods, false],
    [{ verbs: ['list', 'watch'] }, listPods, true],
    [{ verbs: ['watch'] }, req('GET', '/api/v1/pods?watch=1'), true],
    [{ verbs: ['*'] }, req('DELETE', '/api/v1/namespaces/a/pods'), true],
    [{ verbs: ['delete*'] }, req('DELETE', '/api/v1/namespaces/a/pods'), true],
    [{ verbs: ['get'] }, healthz, true],
    [{ verbs: ['post'] }, req('POST', '/logs'), true],
    [{ verbs: ['create'] }, req('POST', '/logs'), false],
  ]);
});

test('apiGroups: "" is the core group and * is every group', () => {
  run([
    [{ apiGroups: [''] }, listPods, true],
    [{ apiGroups: [''] }, deployments, false],
    [{ apiGroups: ['apps'] }, deployments, true],
    [{ apiGroups: ['*'] }, listPods, true],
    [{ apiGroups: ['*.k8s.io'] }, req('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles'), true],
    [{ apiGroups: ['*.k8s.io'] }, deployments, false],
    [{ apiGroups: ['*'] }, healthz, false],
  ]);
});

test('namespaces: patterns are anchored; "" selects cluster-scoped and all-namespace requests', () => {
  run([
    [{ namespaces: ['kube-system'] }, getPods, true],
    [{ namespaces: ['kube-*'] }, getPods, true],
    [{ namespaces: ['kube-*'] }, req('GET', '/api/v1/namespaces/xkube-system/pods'), false],
    [{ namespaces: ['*-system'] }, getPods, true],
    [{ namespaces: ['k*-s*m'] }, getPods, true],
    [{ namespaces: ['kube'] }, getPods, false],
    [{ namespaces: ['kube-*'] }, listNodes, false],
    [{ namespaces: ['kube-*'] }, allPods, false],
    [{ namespaces: [''] }, listNodes, true],
    [{ namespaces: [''] }, allPods, true],
    [{ namespaces: [''] }, listPods, false],
    [{ namespaces: ['*'] }, listNodes, true],
    [{ namespaces: ['*'] }, healthz, false],
  ]);
});

test('names: the object name, including one a fieldSelector pins; a nameless request has none', () => {
  run([
    [{ names: ['coredns'] }, getPods, true],
    [{ names: ['core*'] }, getPods, true],
    [{ names: ['core'] }, getPods, false],
    [{ names: ['coredns'] }, listPods, false],
    [
      { names: ['coredns'] },
      req('GET', '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dcoredns'),
      true,
    ],
    [{ names: ['*'] }, listPods, true],
    [{ names: ['*'] }, healthz, false],
  ]);
});

test('users: the user name, with anchored wildcards', () => {
  run([
    [{ users: ['alice'] }, listPods, true],
    [{ users: ['bob', 'alice'] }, listPods, true],
    [{ users: ['ali'] }, listPods, false],
    [{ users: ['system:*'] }, listPods, true, who('system:kube-scheduler')],
    [{ users: ['system:*'] }, listPods, false, who('xsystem:kube-scheduler')],
    [{ users: ['*'] }, healthz, true],
  ]);
});

test("groups: any one of the user's groups may match any one pattern", () => {
  run([
    [{ groups: ['dev'] }, listPods, true],
    [{ groups: ['ops', 'system:authenticated'] }, listPods, true],
    [{ groups: ['ops'] }, listPods, false],
    [
      { groups: ['system:serviceaccounts:*'] },
      listPods,
      true,
      who('x', ['system:serviceaccounts:kube-system']),
    ],
    [{ groups: ['*'] }, listPods, false, who('x', [])],
  ]);
});

test('serviceAccounts: namespace:name patterns match service-account users only', () => {
  const coredns = who('system:serviceaccount:kube-system:coredns');
  run([
    [{ serviceAccounts: ['kube-system:coredns'] }, listPods, true, coredns],
    [{ serviceAccounts: ['kube-system:*'] }, listPods, true, coredns],
    [{ serviceAccounts: ['*:coredns'] }, listPods, true, coredns],
    [{ serviceAccounts: ['*:*'] }, listPods, true, coredns],
    [{ serviceAccounts: ['kube-*:core*'] }, listPods, true, coredns],
    [{ serviceAccounts: ['default:*'] }, listPods, false, coredns],
    [{ serviceAccounts: ['kube-system:core'] }, listPods, false, coredns],
    [{ serviceAccounts: ['*:*'] }, listPods, false, alice],
    // Not service accounts as the apiserver reads them: extra colon, bad namespace, bad name.
    [{ serviceAccounts: ['*:*'] }, listPods, false, who('system:serviceaccount:a:b:c')],
    [{ serviceAccounts: ['*:*'] }, listPods, false, who('system:serviceaccount:Kube:x')],
    [{ serviceAccounts: ['*:*'] }, listPods, false, who('system:serviceaccount:ns:')],
    [{ serviceAccounts: ['*:*'] }, listPods, false, who(`system:serviceaccount:${'n'.repeat(64)}:x`)],
    [{ serviceAccounts: ['*:*'] }, listPods, true, who(`system:serviceaccount:${'n'.repeat(63)}:a.b`)],
  ]);
});

test('every field given must match, any value within a field may', () => {
  const m: Match = { verbs: ['get', 'list'], namespaces: ['default', 'kube-*'], users: ['alice'] };
  run([
    [m, getPods, true],
    [m, listPods, true],
    [m, req('DELETE', '/api/v1/namespaces/default/pods/x'), false],
    [m, listPods, false, who('bob')],
    [m, req('GET', '/api/v1/namespaces/other/pods'), false],
  ]);
});

test('a rule without match, or with an empty match, matches every request', () => {
  for (const info of [getPods, listNodes, healthz]) {
    assert.equal(selects({}, info), true);
    assert.equal(selects({ match: {} }, info), true);
    assert.equal(selects({ exclude: {} }, info), true);
  }
});

test('a field given with no values matches no request', () => {
  assert.equal(selects({ match: { verbs: [] } }, getPods), false);
  assert.equal(selects({ exclude: { verbs: [] } }, getPods), true);
});
