import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { devDir, devState } from '../env.ts';
import { viewerServiceAccount } from '../users.ts';
import { clientCertificate } from './certs.ts';
import { assertAudited, assertStatus, credential, h1Request, marker, rawH1, type TLSOptions } from './raw.ts';

// Which credential wins, and what a bad one does. kube-apiserver's union authenticator
// (pkg/kubeapiserver/authenticator/config.go) tries the front proxy, then x509, then bearer
// tokens, and the first that succeeds wins; a failed one only matters when none succeeds. Checked
// against the real apiserver: admin certificate + service-account token → kubegate-admin; admin
// certificate + garbage token → kubegate-admin; untrusted certificate + valid token → the
// service account. kubegate does the same, and reads only the first `Authorization` line (Go's
// Header.Get; Node keeps the first of duplicated `authorization` lines).
const id = process.pid;
const ns = `adv-cred-${id}`;
const SA = `system:serviceaccount:${ns}:robot`;
let token = '';
const dirs: string[] = [];
const certs: Record<'expired' | 'future' | 'unknownCA', TLSOptions> = {
  expired: {},
  future: {},
  unknownCA: {},
};

before(async () => {
  token = await viewerServiceAccount(ns, 'robot', `adv-cred-nobody-${id}`);
  // The RoleBinding reaches each apiserver's RBAC cache a moment later: wait (bounded) until a
  // run of requests, round-robin over the three apiservers, all get 200.
  for (let ok = 0, deadline = Date.now() + 20_000; ok < 6 && Date.now() < deadline;) {
    const r = await get(marker('warm-up'), {}, [`Bearer ${token}`]);
    ok = r.status === 200 ? ok + 1 : 0;
    if (ok === 0) await sleep(200);
  }
  const ca = { cert: join(devDir(), 'pki', 'ca.crt'), key: join(devDir(), 'pki', 'ca.key') };
  const make = async (k: keyof typeof certs, c: Awaited<ReturnType<typeof clientCertificate>>) => {
    dirs.push(c.dir);
    certs[k] = { cert: c.cert, key: c.key };
  };
  await make('expired', await clientCertificate('kubegate-admin', ca, '20200101000000Z', '20200201000000Z'));
  await make('future', await clientCertificate('kubegate-admin', ca, '20980101000000Z', '20990101000000Z'));
  await make('unknownCA', await clientCertificate('kubegate-admin', null));
});

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** GET configmaps of the test namespace (the service account may `list`), marked in the URI. */
function get(mark: string, tls: TLSOptions, auth: string[]) {
  const bytes = h1Request('GET', `/api/v1/namespaces/${ns}/configmaps?labelSelector=${mark}`, [
    ['Host', 'localhost'],
    ['User-Agent', mark],
    ...auth.map((a): [string, string] => ['Authorization', a]),
    ['Connection', 'close'],
  ]);
  return rawH1(devState().gateway, bytes, tls);
}

test('a client certificate and a bearer token at once: the certificate wins, as in kube-apiserver', async () => {
  const mark = marker('cert-and-token');
  const r = await get(mark, credential('admin'), [`Bearer ${token}`]);
  assert.equal(r.status, 200, r.body);
  await assertAudited(mark, 1, ['kubegate-admin']);
});

test('a valid client certificate and a garbage token: the certificate wins (the token is not looked at)', async () => {
  const mark = marker('cert-and-bad-token');
  const r = await get(mark, credential('admin'), ['Bearer not-a-token']);
  assert.equal(r.status, 200, r.body);
  await assertAudited(mark, 1, ['kubegate-admin']);
});

for (const [name, what] of [
  ['expired', 'an expired'],
  ['future', 'a not-yet-valid'],
  ['unknownCA', 'a wrong-CA'],
] as const) {
  test(`${what} client certificate is 401 Unauthorized, nothing forwarded`, async () => {
    const mark = marker(`cert-${name}`);
    assertStatus(await get(mark, certs[name], []), 401, 'Unauthorized');
    await assertAudited(mark, 0);
  });

  test(`${what} client certificate with a valid token: the token's identity, never the certificate's`, async () => {
    const mark = marker(`cert-${name}-token`);
    const r = await get(mark, certs[name], [`Bearer ${token}`]);
    assert.equal(r.status, 200, r.body);
    await assertAudited(mark, 1, [SA]);
  });
}

test('duplicated Authorization: only the first line counts (garbage first → 401)', async () => {
  const mark = marker('dup-auth-bad-first');
  assertStatus(await get(mark, {}, ['Bearer not-a-token', `Bearer ${token}`]), 401, 'Unauthorized');
  await assertAudited(mark, 0);
});

test('duplicated Authorization: only the first line counts (valid first → the service account)', async () => {
  const mark = marker('dup-auth-good-first');
  const r = await get(mark, {}, [`Bearer ${token}`, 'Bearer not-a-token']);
  assert.equal(r.status, 200, r.body);
  await assertAudited(mark, 1, [SA]);
});

test('no credential at all is 401 (anonymous is off)', async () => {
  const mark = marker('no-credential');
  assertStatus(await get(mark, {}, []), 401, 'Unauthorized');
  await assertAudited(mark, 0);
});
