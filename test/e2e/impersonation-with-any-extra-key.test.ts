import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { devState, kubectl } from './env.ts';
import { x509User } from './users.ts';

// A client allowed to impersonate a user with an extra key nobody listed anywhere (not in the
// gateway's ClusterRole, not among kube-apiserver's own keys) gets what it would get from the
// apiserver directly (upstream e2e: "[sig-auth] SelfSubjectReview should support SelfSubjectReview
// API operations"). kubegate checks the client's right itself, so a client without it is still
// refused, by name.
const ADMIN = 'apiserver-0.kubeconfig';
const KEY = 'some.example/never-listed';
const ROLE = 'kubegate-e2e-impersonate';
const tmp = mkdtempSync(join(tmpdir(), 'kg-extras-'));
let withExtra = ''; // may impersonate users and the extra key
let usersOnly = ''; // may impersonate users, not the extra key

const impersonateUsers = { apiGroups: [''], resources: ['users'], verbs: ['impersonate'] };
const impersonateExtra = {
  apiGroups: ['authentication.k8s.io'],
  resources: [`userextras/${KEY}`],
  verbs: ['impersonate'],
};

function clusterRole(name: string, rules: object[]): object {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules };
}

/** Whether apiserver `i` already allows `user` to impersonate the extra key (RBAC informers lag). */
async function allowsExtra(i: number, user: string): Promise<boolean> {
  const file = join(tmp, `sar-${i}.json`);
  const attrs = {
    verb: 'impersonate',
    group: 'authentication.k8s.io',
    resource: 'userextras',
    subresource: KEY,
  };
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user, resourceAttributes: { ...attrs, name: 'v' } },
    }),
  );
  const out = await kubectl(`apiserver-${i}.kubeconfig`, ['create', '-f', file, '-o', 'json']);
  return (JSON.parse(out) as { status: { allowed?: boolean } }).status.allowed === true;
}

/** Whether apiserver `i` already allows `user` to impersonate users. */
async function allowsUsers(i: number, user: string): Promise<boolean> {
  const out = await kubectl(`apiserver-${i}.kubeconfig`, [
    'auth',
    'can-i',
    'impersonate',
    'users',
    `--as=${user}`,
  ]).catch(() => 'no');
  return out.trim() === 'yes';
}

async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  const roles = join(tmp, 'roles.json');
  writeFileSync(
    roles,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        clusterRole(`${ROLE}-extra`, [impersonateUsers, impersonateExtra]),
        clusterRole(`${ROLE}-users`, [impersonateUsers]),
      ],
    }),
  );
  await kubectl(ADMIN, ['create', '-f', roles]);
  for (const [role, user] of [
    ['extra', 'extras-allowed'],
    ['users', 'extras-not-allowed'],
  ])
    await kubectl(ADMIN, [
      'create',
      'clusterrolebinding',
      `${ROLE}-${role}`,
      `--clusterrole=${ROLE}-${role}`,
      `--user=${user}`,
    ]);
  withExtra = await x509User('extras-allowed');
  usersOnly = await x509User('extras-not-allowed');
  // kubegate's SubjectAccessReview may go to any replica: wait until each has seen the bindings.
  for (let i = 0; i < devState().apiservers.length; i++) {
    await until(`apiserver-${i} allows the extra key`, () => allowsExtra(i, 'extras-allowed'));
    await until(`apiserver-${i} allows impersonating users`, () => allowsUsers(i, 'extras-not-allowed'));
  }
});

after(async () => {
  rmSync(tmp, { recursive: true, force: true });
  const names = [`${ROLE}-extra`, `${ROLE}-users`];
  await kubectl(ADMIN, ['delete', 'clusterrolebinding', ...names, '--ignore-not-found']);
  await kubectl(ADMIN, ['delete', 'clusterrole', ...names, '--ignore-not-found']);
});

test('impersonating a user with an extra key no ClusterRole of kubegate lists is answered, not 403', async () => {
  const out = await kubectl(withExtra, [
    '--as=someone-else',
    `--as-user-extra=${KEY}=v`,
    'auth',
    'whoami',
    '-o',
    'json',
  ]);
  const who = JSON.parse(out) as {
    status: { userInfo: { username: string; extra?: Record<string, string[]> } };
  };
  assert.equal(who.status.userInfo.username, 'someone-else');
  assert.deepEqual(who.status.userInfo.extra?.[KEY], ['v']);
});

test('a client not allowed that extra key is refused by the gateway, naming the client', async () => {
  // Not `auth whoami`: it replaces any refusal with its own "not enabled or no permission".
  const err = await kubectl(usersOnly, [
    '--as=someone-else',
    `--as-user-extra=${KEY}=v`,
    'get',
    'namespaces',
  ]).then(
    () => assert.fail('impersonating the extra key without the right succeeded'),
    (e: { stderr?: string }) => String(e.stderr),
  );
  assert.match(err, new RegExp(`User "extras-not-allowed" cannot impersonate resource "userextras/${KEY}"`));
});
