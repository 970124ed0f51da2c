import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OwnGateway } from '../own-gateway.ts';
import { assertAudited, assertStatus, credential, h1Request, marker, message, rawH1 } from './raw.ts';

// The gateway decides on the path the way kube-apiserver reads it (Go's net/url decoding, no
// dot-segment cleaning), so no spelling of a path lets a request past a rule that the apiserver
// would then serve as the resource the rule names. Rule: secrets are frozen (deny, 403).
let gw: OwnGateway;

before(async () => {
  gw = await OwnGateway.start({
    rules: [
      {
        name: 'freeze-secrets',
        match: { resources: ['secrets'] },
        action: 'deny',
        deny: { message: 'secrets are frozen' },
      },
    ],
  });
});
after(() => gw.stop());

function send(target: string, mark: string) {
  const bytes = h1Request('GET', target, [
    ['Host', 'localhost'],
    ['User-Agent', mark],
    ['Connection', 'close'],
  ]);
  return rawH1(gw.url, bytes, credential('admin'));
}

for (const [name, path] of [
  ['plain', (m: string) => `/api/v1/namespaces/${m}/secrets`],
  ['%2F for the slash', (m: string) => `/api/v1/namespaces/${m}%2Fsecrets`],
  ['%2f lowercase, twice', (m: string) => `/api/v1/namespaces%2f${m}%2fsecrets`],
  ['percent-encoded letters', (m: string) => `/api/v1/namespaces/${m}/%73%65crets`],
  ['absolute-form target', (m: string) => `https://localhost/api/v1/namespaces/${m}/secrets`],
  [
    'absolute-form with another host',
    (m: string) => `https://elsewhere.example:6443/api/v1/namespaces/${m}/secrets`,
  ],
] as const) {
  test(`secrets denied whatever the spelling: ${name}`, async () => {
    const mark = marker(`path-${name}`);
    const r = await send(path(mark), mark);
    assertStatus(r, 403, 'Forbidden');
    assert.equal(message(r), 'secrets are frozen');
    await assertAudited(mark, 0);
  });
}

for (const [name, path, code, reason] of [
  // Not cleaned, as in the apiserver: a configmap named ".." with a subresource "secrets".
  ['.. after a resource', (m: string) => `/api/v1/namespaces/${m}/configmaps/../secrets`, 404, 'NotFound'],
  [
    '%2e%2e after a resource',
    (m: string) => `/api/v1/namespaces/${m}/configmaps/%2e%2e/secrets`,
    404,
    'NotFound',
  ],
  ['.. as the name', (m: string) => `/api/v1/namespaces/${m}/configmaps/..`, 400, 'BadRequest'],
  [
    '.. before the namespace',
    (m: string) => `/api/v1/namespaces/${m}/../kube-system/configmaps`,
    404,
    'NotFound',
  ],
] as const) {
  test(`dot segments are not cleaned, as in kube-apiserver: ${name} → ${code} from the apiserver, as the client`, async () => {
    const mark = marker(`path-${name}`);
    const r = await send(path(mark), mark);
    assertStatus(r, code, reason);
    await assertAudited(mark, 1, ['kubegate-admin']);
  });
}

test('an allowed absolute-form request goes upstream as its path only (no host from the client)', async () => {
  const mark = marker('path-absolute-allowed');
  const r = await send(`https://elsewhere.example:6443/api/v1/namespaces/${mark}/configmaps`, mark);
  assert.equal(r.status, 200, r.body);
  const [e] = await assertAudited(mark, 1, ['kubegate-admin']);
  assert.equal(e.requestURI, `/api/v1/namespaces/${mark}/configmaps`);
});

test('asterisk-form (OPTIONS *) and authority-form targets are 400 BadRequest, nothing forwarded', async () => {
  for (const target of ['*', 'localhost:6443']) {
    const mark = marker('path-asterisk');
    assertStatus(await send(target, mark), 400, 'BadRequest');
    await assertAudited(mark, 0);
  }
});
