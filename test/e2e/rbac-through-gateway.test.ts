import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loggedLines } from './access-lines.ts';
import { devDir, jsonLines, kubectl } from './env.ts';
import { tokenUser, x509User } from './users.ts';

const ADMIN = 'gateway.kubeconfig';
let alice = ''; // x509 user allowed only `get configmaps` in namespace rbac-a
let robot = ''; // service-account token user with the same rights
let carol = ''; // x509 user allowed to impersonate users

async function forbidden(kubeconfig: string, args: string[]): Promise<string> {
  try {
    await kubectl(kubeconfig, args);
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded but should have been forbidden`);
}

before(async () => {
  for (const ns of ['rbac-a', 'rbac-b']) {
    await kubectl(ADMIN, ['create', 'namespace', ns]);
    await kubectl(ADMIN, ['-n', ns, 'create', 'configmap', 'cm', '--from-literal=k=v']);
  }
  await kubectl(ADMIN, ['-n', 'rbac-a', 'create', 'role', 'get-cm', '--verb=get', '--resource=configmaps']);
  await kubectl(ADMIN, ['-n', 'rbac-a', 'create', 'serviceaccount', 'robot']);
  await kubectl(ADMIN, [
    '-n',
    'rbac-a',
    'create',
    'rolebinding',
    'get-cm',
    '--role=get-cm',
    '--user=alice',
    '--serviceaccount=rbac-a:robot',
  ]);
  await kubectl(ADMIN, [
    'create',
    'clusterrole',
    'impersonator',
    '--verb=impersonate',
    '--resource=users,groups',
  ]);
  await kubectl(ADMIN, [
    'create',
    'clusterrolebinding',
    'carol-impersonates',
    '--clusterrole=impersonator',
    '--user=carol',
  ]);
  alice = await x509User('alice');
  carol = await x509User('carol');
  const token = (await kubectl(ADMIN, ['-n', 'rbac-a', 'create', 'token', 'robot'])).trim();
  robot = await tokenUser('robot', token);
});

for (const [who, kc] of [
  ['x509 user', () => alice],
  ['service-account token user', () => robot],
] as const) {
  test(`${who} allowed only "get configmaps" in rbac-a can do exactly that through the gateway`, async () => {
    assert.equal(
      (await kubectl(kc(), ['-n', 'rbac-a', 'get', 'configmap', 'cm', '-o', 'jsonpath={.data.k}'])).trim(),
      'v',
    );
    assert.match(await forbidden(kc(), ['-n', 'rbac-a', 'get', 'configmaps']), /Forbidden|forbidden/);
    assert.match(await forbidden(kc(), ['-n', 'rbac-b', 'get', 'configmap', 'cm']), /forbidden/);
    assert.match(await forbidden(kc(), ['-n', 'rbac-a', 'delete', 'configmap', 'cm']), /forbidden/);
  });
}

test('--as=system:admin by a user without impersonate rights is 403 from the gateway', async () => {
  const err = await forbidden(alice, ['--as=system:admin', 'get', 'ns']);
  assert.match(err, /cannot impersonate resource "users"/);
});

test('a user granted impersonate can act as another user, and the audit log shows that user', async () => {
  // Alice's own requests of the tests above are logged too: only lines from here on.
  const log = join(devDir(), 'logs', 'kubegate.log');
  const logged = jsonLines(log).length;
  await kubectl(carol, ['--as=alice', '-n', 'rbac-a', 'get', 'configmap', 'cm']);
  const access = await loggedLines(
    () => jsonLines(log).slice(logged),
    (l) =>
      l.kind === 'access' &&
      l.uri === '/api/v1/namespaces/rbac-a/configmaps/cm' &&
      (l.user as { username?: string } | undefined)?.username === 'alice',
  );
  const last = access.at(-1) as { auditID: string; upstream: string };
  assert.ok(last, 'the access log records the impersonated user');
  const i = Number(last.upstream.split('-')[1]);
  const e = jsonLines(join(devDir(), 'audit', `apiserver-${i}.log`)).find(
    (x) => x.auditID === last.auditID,
  ) as {
    impersonatedUser: { username: string };
  };
  assert.equal(e.impersonatedUser.username, 'alice');
});
