// TrafficPolicy `jwt` through the real API server and a real Gateway to a podlet echo pod: a token
// signed by a key whose JWKS is in a Secret gets through with its claim as a header; forged ones
// get 401 from the lab's underlay and never reach the pod.

import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { kubectl } from '../env.ts';
import { echoBackend, httpGateway } from './echo-objects.ts';
import { eventually, gatewayAddress, labRequest } from './lab-http.ts';

const HOST = 'jwt.example.com';
const ISSUER = 'https://issuer.jwt.example.com';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const JWKS = {
  keys: [{ ...keys.publicKey.export({ format: 'jwk' }), kid: 'e2e', alg: 'ES256', use: 'sig' }],
};

function es256(claims: Record<string, unknown>, key = keys.privateKey): string {
  const head = `${b64url({ alg: 'ES256', typ: 'JWT', kid: 'e2e' })}.${b64url(claims)}`;
  return `${head}.${sign('sha256', Buffer.from(head), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: 'shop',
  sub: 'alice',
  exp: Math.floor(Date.now() / 1000) + 600,
  ...extra,
});

const OBJECTS = [
  ...echoBackend('echo-jwt'),
  httpGateway('jwt'),
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'jwt', namespace: 'default' },
    spec: {
      parentRefs: [{ name: 'jwt' }],
      hostnames: [HOST],
      rules: [{ backendRefs: [{ name: 'echo-jwt', port: 8080 }] }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: 'jwt-issuer-keys', namespace: 'default' },
    data: { jwks: b64(JSON.stringify(JWKS)) },
  },
  {
    apiVersion: 'gateway.kubegate.io/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name: 'jwt', namespace: 'default' },
    spec: {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'jwt' }],
      jwt: {
        providers: [
          {
            issuer: ISSUER,
            audiences: ['shop'],
            jwks: { secretRef: { name: 'jwt-issuer-keys' } },
            claimsToHeaders: [{ claim: 'sub', header: 'X-User' }],
          },
        ],
      },
    },
  },
];

test('a JWT signed by a key in a Secret gets through the Gateway with its claim; forged ones get 401', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-jwt-policy-'));
  const file = join(dir, 'objects.json');
  await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: OBJECTS }));
  after(async () => {
    await kubectl('gateway.kubeconfig', ['delete', '-f', file, '--wait=false']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await kubectl('gateway.kubeconfig', ['apply', '-f', file]);
  const address = await gatewayAddress('default', 'jwt');
  await kubectl('gateway.kubeconfig', ['rollout', 'status', 'deployment/echo-jwt', '--timeout=90s']);
  const url = `http://${address}/`;
  const get = (headers: Record<string, string>) => labRequest(url, { Host: HOST, ...headers });

  const ok = await eventually(
    url,
    { Host: HOST, Authorization: `Bearer ${es256(claims())}`, 'X-User': 'root' },
    (r) => r.status === 200,
  );
  const echoed = JSON.parse(ok.body) as { pod: string; headers: Record<string, string[]> };
  assert.match(echoed.pod, /^echo-jwt-/);
  assert.deepEqual(echoed.headers['X-User'], ['alice']); // the client's own X-User is gone

  const missing = await get({});
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['www-authenticate'], 'Bearer');
  const pem = keys.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const hsHead = `${b64url({ alg: 'HS256', kid: 'e2e' })}.${b64url(claims())}`;
  const forged = {
    'signed by another key': es256(claims(), stranger.privateKey),
    'alg none': `${b64url({ alg: 'none' })}.${b64url(claims())}.`,
    'HS256 keyed with the public key': `${hsHead}.${createHmac('sha256', pem).update(hsHead).digest('base64url')}`,
    expired: es256(claims({ exp: Math.floor(Date.now() / 1000) - 3600 })),
    'wrong audience': es256(claims({ aud: 'admin' })),
    malformed: 'a.b.c',
  };
  for (const [name, t] of Object.entries(forged)) {
    const r = await get({ Authorization: `Bearer ${t}` });
    assert.equal(r.status, 401, name);
    assert.equal(r.headers['www-authenticate'], 'Bearer error="invalid_token"', name);
  }

  // The status is written after the data plane is served: give it a moment.
  let reason = '';
  for (let deadline = Date.now() + 30_000; reason === '' && Date.now() < deadline;) {
    const p = JSON.parse(
      await kubectl('gateway.kubeconfig', ['get', 'trafficpolicy', 'jwt', '-o', 'json']),
    ) as {
      status?: { ancestors?: { conditions: { reason: string }[] }[] };
    };
    reason = p.status?.ancestors?.[0]?.conditions[0]?.reason ?? '';
    if (reason === '') await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(reason, 'Accepted');
});
