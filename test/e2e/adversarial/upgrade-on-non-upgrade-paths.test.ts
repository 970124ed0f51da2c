import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { devState } from '../env.ts';
import { x509User } from '../users.ts';
import { assertAudited, assertStatus, credential, h1Request, marker, rawH1 } from './raw.ts';

// Upgrade requests to paths that do not upgrade. The apiserver answers them as plain requests; the
// gateway relays that answer and closes, so a request pipelined behind the upgrade can never ride
// the gateway's own upstream connection (whose identity is the gateway's, not the client's).
const nobody = `adv-upg-nobody-${process.pid}`;
before(async () => {
  await x509User(nobody);
});

const WS: [string, string][] = [
  ['Connection', 'Upgrade'],
  ['Upgrade', 'websocket'],
  ['Sec-WebSocket-Version', '13'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
];
const H2C: [string, string][] = [
  ['Connection', 'Upgrade, HTTP2-Settings'],
  ['Upgrade', 'h2c'],
  ['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA'],
];

/** A second request pipelined behind the first: no credential of its own, names the marker. */
function smuggled(mark: string): string {
  return h1Request('GET', `/api/v1/namespaces/${mark}/secrets?smuggled=1`, [
    ['Host', 'localhost'],
    ['User-Agent', mark],
    ['Impersonate-User', 'system:admin'],
    ['Connection', 'close'],
  ]);
}

for (const [name, upgrade] of [
  ['websocket', WS],
  ['h2c', H2C],
] as const) {
  test(`Upgrade: ${name} on a list of configmaps: the apiserver's answer relayed, closed, the pipelined request never sent`, async () => {
    const mark = marker(`upgrade-${name}`);
    const first = h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
      ['Host', 'localhost'],
      ['User-Agent', mark],
      ...upgrade,
    ]);
    const r = await rawH1(devState().gateway, first + smuggled(mark), credential(nobody));
    assert.ok(r.closed, 'the gateway closes the connection after the relayed answer');
    assertStatus(r, 403, 'Forbidden'); // the apiserver's RBAC answer for this user
    assert.equal((r.raw.match(/HTTP\/1\.1 \d{3} /g) ?? []).length, 1, `one answer only:\n${r.raw}`);
    const events = await assertAudited(mark, 1, [nobody]);
    assert.ok(!events[0].requestURI.includes('smuggled'));
  });
}

test('Upgrade: websocket without any credential is 401 Unauthorized and closed; nothing forwarded', async () => {
  const mark = marker('upgrade-anonymous');
  const first = h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
    ['Host', 'localhost'],
    ['User-Agent', mark],
    ...WS,
  ]);
  const r = await rawH1(devState().gateway, first + smuggled(mark));
  assert.ok(r.closed);
  assertStatus(r, 401, 'Unauthorized');
  assert.equal((r.raw.match(/HTTP\/1\.1 \d{3} /g) ?? []).length, 1, `one answer only:\n${r.raw}`);
  await assertAudited(mark, 0);
});

test('Upgrade: websocket with Impersonate-User the client may not use is 403 and closed; nothing forwarded', async () => {
  const mark = marker('upgrade-impersonate');
  const first = h1Request('GET', `/api/v1/namespaces/${mark}/pods/p/exec?command=id`, [
    ['Host', 'localhost'],
    ['User-Agent', mark],
    ['Impersonate-User', 'kubegate-admin'],
    ...WS,
  ]);
  const r = await rawH1(devState().gateway, first + smuggled(mark), credential(nobody));
  assert.ok(r.closed);
  assertStatus(r, 403, 'Forbidden');
  await assertAudited(mark, 0);
});
