import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { issueCert } from '../../../src/dev/pki.ts';
import { devDir, devState, kubectl } from '../env.ts';
import { x509User } from '../users.ts';
import { assertAudited, assertStatus, credential, h1Request, marker, message, rawH1 } from './raw.ts';

// Client Impersonate-* headers are honoured only after SubjectAccessReviews say the client may;
// any other spelling, repetition or front-proxy X-Remote-* header must never lend the client an
// identity it does not hold. `imp` may impersonate exactly one user (`target`); `nobody` nothing.
const ADMIN = 'apiserver-0.kubeconfig';
const id = process.pid;
const nobody = `adv-nobody-${id}`;
const imp = `adv-imp-${id}`;
const target = `adv-target-${id}`;

before(async () => {
  await x509User(nobody);
  await x509User(imp);
  await kubectl(ADMIN, [
    'create',
    'clusterrole',
    `adv-imp-${id}`,
    '--verb=impersonate',
    '--resource=users',
    `--resource-name=${target}`,
  ]);
  await kubectl(ADMIN, [
    'create',
    'clusterrolebinding',
    `adv-imp-${id}`,
    `--clusterrole=adv-imp-${id}`,
    `--user=${imp}`,
  ]);
});

/** GET configmaps of a namespace named by the marker, as `user`, with extra header lines. */
function get(mark: string, user: string, headers: [string, string][]) {
  const bytes = h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
    ['Host', 'localhost'],
    ['User-Agent', mark],
    ...headers,
    ['Connection', 'close'],
  ]);
  return rawH1(devState().gateway, bytes, credential(user));
}

test('Impersonate-User without impersonate rights is 403 Forbidden; nothing reaches an apiserver', async () => {
  const mark = marker('imp-norights');
  const r = await get(mark, nobody, [['Impersonate-User', 'kubegate-admin']]);
  assertStatus(r, 403, 'Forbidden');
  assert.match(message(r), /cannot impersonate resource "users"/);
  await assertAudited(mark, 0);
});

test('mixed-case iMpErSoNaTe-uSeR without rights is 403 too (header names are case-insensitive)', async () => {
  const mark = marker('imp-mixedcase');
  const r = await get(mark, nobody, [['iMpErSoNaTe-uSeR', 'kubegate-admin']]);
  assertStatus(r, 403, 'Forbidden');
  await assertAudited(mark, 0);
});

test('mixed-case Impersonate header with rights is honoured: the apiserver sees the impersonated user only', async () => {
  const mark = marker('imp-mixedcase-ok');
  const r = await get(mark, imp, [['IMPERSONATE-USER', target]]);
  assertStatus(r, 403, 'Forbidden'); // the target may not list configmaps: the apiserver's RBAC answer
  assert.match(message(r), new RegExp(`User "${target}" cannot list`));
  await assertAudited(mark, 1, [target]);
});

test('duplicated Impersonate-User: the first line is the one authorized and the only one forwarded', async () => {
  const ok = marker('imp-dup-first-allowed');
  const r1 = await get(ok, imp, [
    ['Impersonate-User', target],
    ['impersonate-user', 'kubegate-admin'],
  ]);
  assertStatus(r1, 403, 'Forbidden');
  assert.match(message(r1), new RegExp(`User "${target}" cannot list`));
  await assertAudited(ok, 1, [target]);

  const bad = marker('imp-dup-first-denied');
  const r2 = await get(bad, imp, [
    ['Impersonate-User', 'kubegate-admin'],
    ['Impersonate-User', target],
  ]);
  assertStatus(r2, 403, 'Forbidden');
  assert.match(message(r2), /cannot impersonate resource "users"/);
  await assertAudited(bad, 0);
});

test('Impersonate-Group: system:masters beside an allowed user is 403 (groups need their own right)', async () => {
  const mark = marker('imp-group');
  const r = await get(mark, imp, [
    ['Impersonate-User', target],
    ['Impersonate-Group', 'system:masters'],
  ]);
  assertStatus(r, 403, 'Forbidden');
  assert.match(message(r), /cannot impersonate resource "groups"/);
  await assertAudited(mark, 0);
});

test('Impersonate-Group without Impersonate-User is 400 BadRequest, as in kube-apiserver', async () => {
  const mark = marker('imp-group-only');
  const r = await get(mark, nobody, [['Impersonate-Group', 'system:masters']]);
  assertStatus(r, 400, 'BadRequest');
  await assertAudited(mark, 0);
});

test('X-Remote-User / X-Remote-Group front-proxy headers are dropped: the request runs as the client', async () => {
  const mark = marker('xremote');
  const r = await get(mark, nobody, [
    ['X-Remote-User', 'kubegate-admin'],
    ['X-Remote-Group', 'system:masters'],
    ['x-remote-extra-scopes', 'all'],
  ]);
  assertStatus(r, 403, 'Forbidden');
  assert.match(message(r), new RegExp(`User "${nobody}" cannot list`));
  await assertAudited(mark, 1, [nobody]);
});

test('X-Remote-User without any credential is 401 Unauthorized', async () => {
  const mark = marker('xremote-anon');
  const bytes = h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
    ['Host', 'localhost'],
    ['User-Agent', mark],
    ['X-Remote-User', 'kubegate-admin'],
    ['X-Remote-Group', 'system:masters'],
    ['Connection', 'close'],
  ]);
  assertStatus(await rawH1(devState().gateway, bytes), 401, 'Unauthorized');
  await assertAudited(mark, 0);
});

// The dev gateway trusts the dev front-proxy CA (its apiservers' aggregator): X-Remote-* then
// count only from that CA's certificate with the allowed CN front-proxy-client, and even so
// reach nothing but the ClusterGateway API (see clustergateway-apiservice.test.ts).
async function frontProxyCert(cn: string): Promise<{ cert: Buffer; key: Buffer }> {
  const pki = (f: string) => join(devDir(), 'pki', f);
  const ca = { cert: pki('front-proxy-ca.crt'), key: pki('front-proxy-ca.key') };
  const files = await issueCert(join(devDir(), 'users'), `fp-${cn}`, ca, { cn, usage: 'client' });
  return { cert: readFileSync(files.cert), key: readFileSync(files.key) };
}

function xRemote(mark: string): string {
  return h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
    ['Host', 'localhost'],
    ['User-Agent', mark],
    ['X-Remote-User', 'kubegate-admin'],
    ['X-Remote-Group', 'system:masters'],
    ['Connection', 'close'],
  ]);
}

test('X-Remote-User with a front-proxy CA certificate whose CN is not allowed is 401; nothing reaches an apiserver', async () => {
  const mark = marker('xremote-fp-cn');
  assertStatus(
    await rawH1(devState().gateway, xRemote(mark), await frontProxyCert(`mallory-${id}`)),
    401,
    'Unauthorized',
  );
  await assertAudited(mark, 0);
});

test('the front proxy’s own certificate does not reach the hub’s API at all (404), with or without X-Remote-User', async () => {
  const proxy = {
    cert: readFileSync(join(devDir(), 'pki', 'front-proxy-client.crt')),
    key: readFileSync(join(devDir(), 'pki', 'front-proxy-client.key')),
  };
  const mark = marker('xremote-fp-hub');
  assertStatus(await rawH1(devState().gateway, xRemote(mark), proxy), 404, 'NotFound');
  const bare = marker('xremote-fp-bare');
  const bytes = h1Request('GET', `/api/v1/namespaces/${bare}/configmaps`, [
    ['Host', 'localhost'],
    ['User-Agent', bare],
    ['Connection', 'close'],
  ]);
  assertStatus(await rawH1(devState().gateway, bytes, proxy), 401, 'Unauthorized');
  await assertAudited(mark, 0);
  await assertAudited(bare, 0);
});
