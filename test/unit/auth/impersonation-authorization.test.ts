import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../../src/errors.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import type { Identity } from '../../../src/request/types.ts';
import { kubeAccessReviewer } from '../../../src/auth/access-review.ts';
import type { AccessAttributes, AccessDecision, AccessReviewer } from '../../../src/auth/access-review.ts';
import { authorizeImpersonation } from '../../../src/auth/impersonation.ts';
import type { ImpersonationRequest } from '../../../src/auth/impersonation.ts';

const alice: Identity = { user: 'alice', uid: 'a-1', groups: ['dev', 'system:authenticated'], extra: {} };

// Records every check; denies the ones `deny` matches.
function reviewer(deny: (a: AccessAttributes) => boolean | AccessDecision = () => false) {
  const checks: AccessAttributes[] = [];
  const users: Identity[] = [];
  const r: AccessReviewer = {
    async allowed(user, attrs) {
      users.push(user);
      checks.push(attrs);
      const d = deny(attrs);
      return typeof d === 'boolean' ? !d : d;
    },
  };
  return { r, checks, users };
}

function want(over: Partial<ImpersonationRequest>): ImpersonationRequest {
  return { user: 'bob', uid: '', groups: [], extra: {}, ...over };
}

function forbidden(message: string) {
  return (err: unknown) =>
    err instanceof GatewayError &&
    err.code === 'KG_IMPERSONATION_FORBIDDEN' &&
    err.status === 403 &&
    err.reason === 'Forbidden' &&
    err.message === message;
}

test('checks user, uid, each group, each extra value, in kube-apiserver’s order, as the requester', async () => {
  const { r, checks, users } = reviewer();
  const result = await authorizeImpersonation(
    alice,
    want({ uid: 'b-1', groups: ['g1', 'g2'], extra: { scopes: ['view', 'edit'], 'example.com/k': ['v'] } }),
    r,
  );
  const core = { verb: 'impersonate', group: '', version: 'v1' };
  const authn = { verb: 'impersonate', group: 'authentication.k8s.io', version: 'v1' };
  assert.deepEqual(checks, [
    { ...core, resource: 'users', name: 'bob' },
    { ...authn, resource: 'uids', name: 'b-1' },
    { ...core, resource: 'groups', name: 'g1' },
    { ...core, resource: 'groups', name: 'g2' },
    { ...authn, resource: 'userextras', subresource: 'scopes', name: 'view' },
    { ...authn, resource: 'userextras', subresource: 'scopes', name: 'edit' },
    { ...authn, resource: 'userextras', subresource: 'example.com/k', name: 'v' },
  ]);
  assert.ok(users.every((u) => u === alice));
  assert.deepEqual(result, {
    user: 'bob',
    uid: 'b-1',
    groups: ['g1', 'g2', 'system:authenticated'],
    extra: { scopes: ['view', 'edit'], 'example.com/k': ['v'] },
  });
});

test('a service-account name is checked as serviceaccounts in its namespace and gets its groups', async () => {
  const { r, checks } = reviewer();
  const result = await authorizeImpersonation(
    alice,
    want({ user: 'system:serviceaccount:kube-system:default' }),
    r,
  );
  assert.deepEqual(checks, [
    {
      verb: 'impersonate',
      group: '',
      version: 'v1',
      resource: 'serviceaccounts',
      namespace: 'kube-system',
      name: 'default',
    },
  ]);
  assert.deepEqual(result.groups, [
    'system:serviceaccounts',
    'system:serviceaccounts:kube-system',
    'system:authenticated',
  ]);
});

test('requested groups replace a service account’s default groups', async () => {
  const { r } = reviewer();
  const result = await authorizeImpersonation(
    alice,
    want({ user: 'system:serviceaccount:ns:sa', groups: ['x'] }),
    r,
  );
  assert.deepEqual(result.groups, ['x', 'system:authenticated']);
});

test('an invalid service-account name is an ordinary user', async () => {
  const { r, checks } = reviewer();
  for (const user of [
    'system:serviceaccount:ns',
    'system:serviceaccount:NS:sa',
    'system:serviceaccount:ns:sa:x',
  ]) {
    await authorizeImpersonation(alice, want({ user }), r);
  }
  assert.ok(checks.every((c) => c.resource === 'users'));
});

test('group defaulting: anonymous gets system:unauthenticated; requested system:unauthenticated blocks system:authenticated', async () => {
  const { r } = reviewer();
  assert.deepEqual((await authorizeImpersonation(alice, want({ user: 'system:anonymous' }), r)).groups, [
    'system:unauthenticated',
  ]);
  assert.deepEqual(
    (await authorizeImpersonation(alice, want({ groups: ['system:unauthenticated'] }), r)).groups,
    ['system:unauthenticated'],
  );
  assert.deepEqual(
    (await authorizeImpersonation(alice, want({ groups: ['system:authenticated', 'x'] }), r)).groups,
    ['system:authenticated', 'x'],
  );
});

test('denied user', async () => {
  const { r, checks } = reviewer((a) => a.resource === 'users');
  await assert.rejects(
    authorizeImpersonation(alice, want({ user: 'system:admin', groups: ['g'] }), r),
    forbidden(
      'users "system:admin" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    ),
  );
  assert.equal(checks.length, 1); // stops at the first denial
});

test('denied service account', async () => {
  const { r } = reviewer((a) => a.resource === 'serviceaccounts');
  await assert.rejects(
    authorizeImpersonation(alice, want({ user: 'system:serviceaccount:kube-system:admin' }), r),
    forbidden(
      'serviceaccounts "admin" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"',
    ),
  );
});

test('denied uid', async () => {
  const { r } = reviewer((a) => a.resource === 'uids');
  await assert.rejects(
    authorizeImpersonation(alice, want({ uid: 'u-9', groups: ['g'] }), r),
    forbidden(
      'uids.authentication.k8s.io "u-9" is forbidden: User "alice" cannot impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope',
    ),
  );
});

test('denied group (after the allowed ones)', async () => {
  const { r, checks } = reviewer((a) => a.resource === 'groups' && a.name === 'system:masters');
  await assert.rejects(
    authorizeImpersonation(alice, want({ groups: ['dev', 'system:masters', 'ops'] }), r),
    forbidden(
      'groups "system:masters" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope',
    ),
  );
  assert.deepEqual(
    checks.map((c) => c.name),
    ['bob', 'dev', 'system:masters'],
  );
});

test('denied extra value names the key as subresource', async () => {
  const { r } = reviewer((a) => a.resource === 'userextras' && a.name === 'admin');
  await assert.rejects(
    authorizeImpersonation(alice, want({ extra: { 'pandas.io/scopes': ['view', 'admin'] } }), r),
    forbidden(
      'userextras.authentication.k8s.io "admin" is forbidden: User "alice" cannot impersonate resource "userextras/pandas.io/scopes" in API group "authentication.k8s.io" at the cluster scope',
    ),
  );
});

test('the authorizer’s reason and error are appended; <, >, & in the message are escaped', async () => {
  const { r } = reviewer(() => ({ allowed: false, reason: 'no RBAC policy matched' }));
  const amp: Identity = { ...alice, user: 'a&<b>' };
  await assert.rejects(
    authorizeImpersonation(amp, want({}), r),
    forbidden(
      'users "bob" is forbidden: User "a&amp;&lt;b&gt;" cannot impersonate resource "users" in API group "" at the cluster scope: no RBAC policy matched',
    ),
  );
  const both = reviewer(() => ({ allowed: false, reason: 'r', error: 'e' }));
  await assert.rejects(authorizeImpersonation(alice, want({}), both.r), (err: unknown) =>
    (err as Error).message.endsWith('at the cluster scope: e: r'),
  );
});

test('an unreachable reviewer is KG_AUTH_BACKEND, not a denial', async () => {
  const r: AccessReviewer = {
    async allowed() {
      throw new Error('ECONNRESET');
    },
  };
  await assert.rejects(
    authorizeImpersonation(alice, want({}), r),
    (err: unknown) => err instanceof GatewayError && err.code === 'KG_AUTH_BACKEND',
  );
});

test('kubeAccessReviewer posts a SubjectAccessReview for the requester', async () => {
  const posted: Array<{ method: string; path: string; body: unknown }> = [];
  let status: Record<string, unknown> = { allowed: true };
  const client = {
    async json(method: string, path: string, body: unknown) {
      posted.push({ method, path, body });
      return { status };
    },
  } as unknown as KubeClient;
  const r = kubeAccessReviewer(client);
  const attrs = {
    verb: 'impersonate',
    group: 'authentication.k8s.io',
    version: 'v1',
    resource: 'userextras',
    subresource: 'scopes',
    name: 'view',
  };
  assert.deepEqual(await r.allowed({ ...alice, extra: { k: ['v'] } }, attrs), {
    allowed: true,
    reason: undefined,
    error: undefined,
  });
  assert.deepEqual(posted[0], {
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'alice',
        uid: 'a-1',
        groups: ['dev', 'system:authenticated'],
        extra: { k: ['v'] },
        resourceAttributes: attrs,
      },
    },
  });
  status = { allowed: false, reason: 'nope' };
  assert.deepEqual(await r.allowed(alice, attrs), { allowed: false, reason: 'nope', error: undefined });
  status = { allowed: true, denied: true };
  assert.equal(((await r.allowed(alice, attrs)) as AccessDecision).allowed, false);
});
