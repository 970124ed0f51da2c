import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import type { JWTAuthIR } from '../../../../src/gatewayapi/ir.ts';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { loadInput } from './golden-cases.ts';

const OTHER = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'other' };
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pub = { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec' };

function secret(name: string, data: Record<string, string>) {
  const b64: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) b64[k] = Buffer.from(v).toString('base64');
  return { metadata: { name, namespace: 'infra' }, type: 'Opaque', data: b64 };
}

function withJWT(jwt: Record<string, unknown>, secrets: unknown[] = []): TranslateInput {
  const input = loadInput('traffic-policies');
  const p = {
    metadata: { name: 'jwt', namespace: 'infra', generation: 3, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { targetRefs: [OTHER], jwt },
  };
  return {
    ...input,
    trafficPolicies: [...(input.trafficPolicies ?? []), p],
    policySecrets: [...(input.policySecrets ?? []), ...secrets] as TranslateInput['policySecrets'],
  };
}

/** The jwt IR on route infra/other and the policy's Accepted condition. */
function outcome(input: TranslateInput): { jwt: JWTAuthIR | undefined; reason: string; message: string } {
  const out = translate(input);
  let jwt: JWTAuthIR | undefined;
  for (const p of out.ir.ports)
    for (const l of p.listeners)
      for (const v of l.virtualHosts)
        for (const r of v.routes) if (r.id.startsWith('infra/other/')) jwt ??= r.trafficPolicy?.jwt;
  const status = out.trafficPolicies?.find((x) => x.name === 'jwt');
  assert.ok(status, 'no status for the jwt policy');
  const c = status.ancestors[0].conditions[0];
  assert.equal(c.observedGeneration, 3);
  return { jwt, reason: c.reason, message: c.message };
}

const provider = (jwks: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  providers: [{ issuer: 'https://issuer.test', audiences: ['api'], jwks, ...extra }],
});

test('a JWKS in a Secret becomes public keys in the IR, with claims and required claims', () => {
  const input = withJWT(
    provider(
      { secretRef: { name: 'jwks', key: 'keys.json' } },
      { claimsToHeaders: [{ claim: 'sub', header: 'X-User' }], requiredClaims: { groups: ['admins'] } },
    ),
    [secret('jwks', { 'keys.json': JSON.stringify({ keys: [pub] }) })],
  );
  const { jwt, reason } = outcome(input);
  assert.equal(reason, 'Accepted');
  assert.deepEqual(jwt?.providers[0].keys, [pub]);
  assert.deepEqual(jwt?.providers[0].claimsToHeaders, [{ claim: 'sub', header: 'x-user' }]);
  assert.deepEqual({ ...jwt?.providers[0].requiredClaims }, { groups: ['admins'] });
  assert.equal(jwt?.header, 'authorization');
});

test('private, symmetric and unreadable keys are Invalid, named, and left out of the IR', () => {
  const priv = { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'leaked' };
  const keys = [
    pub,
    priv,
    { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
    { kty: 'RSA', n: 'AQAB', kid: 'junk' },
  ];
  const { jwt, reason, message } = outcome(
    withJWT(provider({ secretRef: { name: 'jwks' } }), [secret('jwks', { jwks: JSON.stringify({ keys }) })]),
  );
  assert.equal(reason, 'Invalid');
  assert.match(message, /jwt\.providers\[0\]\.jwks: keys leaked, hmac, junk are not public/);
  assert.deepEqual(jwt?.providers[0].keys, [pub]);
  assert.equal(JSON.stringify(jwt).includes('"d"'), false);
});

test('a missing Secret or key, not-JSON, no keys or a bad remote URL is Invalid and admits nobody', () => {
  const cases: [TranslateInput, RegExp][] = [
    [
      withJWT(provider({ secretRef: { name: 'nope' } })),
      /jwt\.providers\[0\]\.jwks: Secret infra\/nope not found/,
    ],
    [
      withJWT(provider({ secretRef: { name: 'jwks' } }), [secret('jwks', { other: '{}' })]),
      /has no key jwks/,
    ],
    [withJWT(provider({ secretRef: { name: 'jwks' } }), [secret('jwks', { jwks: '{not json' })]), /not JSON/],
    [
      withJWT(provider({ secretRef: { name: 'jwks' } }), [secret('jwks', { jwks: '{"keys":[]}' })]),
      /has no keys/,
    ],
    [withJWT(provider({ remote: { url: 'http://issuer.test/jwks' } })), /jwks\.remote\.url must be an https/],
    [withJWT(provider({ remote: { url: 'https://u:p@issuer.test/jwks' } })), /without credentials/],
    [
      withJWT(provider({ remote: { url: 'https://issuer.test/jwks' }, secretRef: { name: 'jwks' } })),
      /set one of secretRef and remote/,
    ],
    [withJWT({ providers: [] }), /jwt\.providers is empty/],
  ];
  for (const [input, want] of cases) {
    const { jwt, reason, message } = outcome(input);
    assert.equal(reason, 'Invalid', String(want));
    assert.match(message, want);
    assert.ok(jwt !== undefined, 'an invalid jwt still applies');
    assert.equal(jwt.providers.flatMap((p) => p.keys).length, 0, String(want));
    assert.equal(jwt.providers[0]?.remote, undefined, String(want));
  }
});

test('a remote JWKS is an https URL with a refresh interval (default 5m) in the IR, fetched by the data plane', () => {
  const { jwt, reason } = outcome(withJWT(provider({ remote: { url: 'https://issuer.test/jwks' } })));
  assert.equal(reason, 'Accepted');
  assert.deepEqual(jwt?.providers[0].remote, { url: 'https://issuer.test/jwks', refreshMs: 300_000 });
  assert.deepEqual(jwt?.providers[0].keys, []);
  const fast = outcome(
    withJWT(provider({ remote: { url: 'https://issuer.test/jwks', refreshInterval: '30s' } })),
  );
  assert.equal(fast.jwt?.providers[0].remote?.refreshMs, 30_000);
  const bad = outcome(
    withJWT(provider({ remote: { url: 'https://issuer.test/jwks', refreshInterval: '1ms' } })),
  );
  assert.equal(bad.reason, 'Invalid');
  assert.match(bad.message, /refreshInterval must be a duration of at least 1s/);
});

test('a claim may not be copied into a reserved or malformed header', () => {
  const good = [secret('jwks', { jwks: JSON.stringify({ keys: [pub] }) })];
  for (const header of ['Authorization', 'host', 'Content-Length', 'x user']) {
    const { jwt, reason, message } = outcome(
      withJWT(
        provider({ secretRef: { name: 'jwks' } }, { claimsToHeaders: [{ claim: 'sub', header }] }),
        good,
      ),
    );
    assert.equal(reason, 'Invalid', header);
    assert.match(message, /claimsToHeaders/);
    assert.deepEqual(jwt?.providers[0].claimsToHeaders, []);
  }
});

test('a second jwt policy on the same target is Conflicted', () => {
  const input = withJWT(provider({ secretRef: { name: 'jwks' } }), [
    secret('jwks', { jwks: JSON.stringify({ keys: [pub] }) }),
  ]);
  const newer = {
    metadata: {
      name: 'jwt-newer',
      namespace: 'infra',
      generation: 1,
      creationTimestamp: '2026-02-01T00:00:00Z',
    },
    spec: { targetRefs: [OTHER], jwt: provider({ secretRef: { name: 'jwks' } }) },
  };
  const out = translate({ ...input, trafficPolicies: [...(input.trafficPolicies ?? []), newer] });
  const status = out.trafficPolicies?.find((x) => x.name === 'jwt-newer');
  assert.equal(status?.ancestors[0].conditions[0].reason, 'Conflicted');
});
