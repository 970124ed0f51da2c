import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCA } from '../../../../src/dev/pki.ts';
import type { OIDCIR } from '../../../../src/gatewayapi/ir.ts';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { loadInput } from './golden-cases.ts';

const OTHER = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'other' };
const CLIENT = { 'client-secret': 'the-client-secret' };

function secret(name: string, data: Record<string, string>) {
  const b64: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) b64[k] = Buffer.from(v).toString('base64');
  return { metadata: { name, namespace: 'infra' }, type: 'Opaque', data: b64 };
}

const base = (extra: Record<string, unknown> = {}) => ({
  issuer: 'https://login.example.com',
  clientID: 'shop',
  clientSecretRef: { name: 'oidc-client' },
  ...extra,
});

function withOIDC(
  oidc: Record<string, unknown>,
  secrets: unknown[] = [secret('oidc-client', CLIENT)],
): TranslateInput {
  const input = loadInput('traffic-policies');
  const p = {
    metadata: { name: 'login', namespace: 'infra', generation: 2, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { targetRefs: [OTHER], oidc },
  };
  return {
    ...input,
    trafficPolicies: [...(input.trafficPolicies ?? []), p],
    policySecrets: [...(input.policySecrets ?? []), ...secrets] as TranslateInput['policySecrets'],
  };
}

/** The oidc IR on route infra/other and the policy's Accepted condition. */
function outcome(input: TranslateInput): { oidc: OIDCIR | undefined; reason: string; message: string } {
  const out = translate(input);
  let oidc: OIDCIR | undefined;
  for (const p of out.ir.ports)
    for (const l of p.listeners)
      for (const v of l.virtualHosts)
        for (const r of v.routes) if (r.id.startsWith('infra/other/')) oidc ??= r.trafficPolicy?.oidc;
  const status = out.trafficPolicies?.find((x) => x.name === 'login');
  assert.ok(status, 'no status for the oidc policy');
  const c = status.ancestors[0].conditions[0];
  assert.equal(c.observedGeneration, 2);
  return { oidc, reason: c.reason, message: c.message };
}

test('a valid oidc field is Accepted with its defaults; the cookie key is derived, not the secret', () => {
  const { oidc, reason } = outcome(withOIDC(base({ forwardIDToken: { header: 'Authorization' } })));
  assert.equal(reason, 'Accepted');
  assert.ok(oidc);
  assert.equal(oidc.issuer, 'https://login.example.com');
  assert.equal(oidc.clientSecret, 'the-client-secret');
  assert.equal(oidc.redirectPath, '/oauth2/callback');
  assert.equal(oidc.logoutPath, null);
  assert.deepEqual(oidc.scopes, ['openid']);
  assert.equal(oidc.cookieName, 'kubegate-session');
  assert.equal(oidc.sessionTTLMs, 3_600_000);
  assert.equal(oidc.forwardIDToken, 'authorization');
  assert.equal(Buffer.from(oidc.cookieKey, 'base64').length, 32);
  assert.ok(!oidc.cookieKey.includes(Buffer.from('the-client-secret').toString('base64')));

  const other = outcome(withOIDC(base({ cookieName: 'other' }))).oidc;
  assert.notEqual(other?.cookieKey, oidc.cookieKey, 'another cookie name, another key');
  const own = outcome(
    withOIDC(base({ cookieSecretRef: { name: 'cookie' } }), [
      secret('oidc-client', CLIENT),
      secret('cookie', { 'cookie-secret': 'x'.repeat(32) }),
    ]),
  ).oidc;
  assert.notEqual(own?.cookieKey, oidc.cookieKey, 'a cookie secret of its own');
  const scoped = outcome(withOIDC(base({ scopes: ['email', 'profile'], sessionTTL: '8h' }))).oidc;
  assert.deepEqual(scoped?.scopes, ['openid', 'email', 'profile']);
  assert.equal(scoped?.sessionTTLMs, 8 * 3_600_000);
});

test('a missing Secret, key or field is Invalid, named, and fails closed (no secret, no cookie key)', () => {
  const cases: [TranslateInput, RegExp][] = [
    [withOIDC(base(), []), /oidc\.clientSecretRef: Secret infra\/oidc-client not found/],
    [
      withOIDC(base(), [secret('oidc-client', { other: 'x' })]),
      /oidc\.clientSecretRef: the Secret has no key client-secret/,
    ],
    [withOIDC(base({ clientSecretRef: undefined })), /oidc\.clientSecretRef is missing/],
    [withOIDC(base({ issuer: 'http://login.example.com' })), /oidc\.issuer must be an https:\/\/ URL/],
    [withOIDC(base({ issuer: 'https://u:p@login.example.com' })), /oidc\.issuer must be an https:\/\/ URL/],
    [withOIDC(base({ clientID: '' })), /oidc\.clientID is missing/],
    [withOIDC(base({ redirectPath: 'callback' })), /oidc\.redirectPath must be an absolute path/],
    [withOIDC(base({ cookieName: 'bad name' })), /oidc\.cookieName "bad name" is not a cookie name/],
    [
      withOIDC(base({ cookieSecretRef: { name: 'cookie' } }), [
        secret('oidc-client', CLIENT),
        secret('cookie', { 'cookie-secret': 'short' }),
      ]),
      /oidc\.cookieSecretRef: the secret must be at least 32 bytes/,
    ],
    [
      withOIDC(base({ cookieSecretRef: { name: 'gone' } })),
      /oidc\.cookieSecretRef: Secret infra\/gone not found/,
    ],
  ];
  for (const [input, want] of cases) {
    const { oidc, reason, message } = outcome(input);
    assert.equal(reason, 'Invalid', String(want));
    assert.match(message, want);
    assert.ok(oidc !== undefined, 'an invalid oidc field still applies');
    assert.ok(oidc.issuer === '' || oidc.clientSecret === '' || oidc.cookieKey === '', String(want));
  }
});

test('bad optional fields are Invalid and named; the rest of the login still works', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { logoutPath: '/oauth2/callback' },
      /oidc\.logoutPath must be an absolute path .* other than redirectPath/,
    ],
    [{ sessionTTL: '0s' }, /oidc\.sessionTTL must be a duration of at least 1s/],
    [{ scopes: ['openid', 'bad"scope'] }, /oidc\.scopes: "bad\\"scope" are not scope tokens/],
    [
      { forwardIDToken: { header: 'Host' } },
      /oidc\.forwardIDToken\.header host is not an allowed header name/,
    ],
    [{ claimsToHeaders: [{ claim: 'sub', header: 'Cookie' }] }, /oidc\.claimsToHeaders: sub → cookie/],
    [
      { claimsToHeaders: [{ claim: 'sub', header: 'authorization' }] },
      /oidc\.claimsToHeaders: sub → authorization/,
    ],
  ];
  for (const [extra, want] of cases) {
    const { oidc, reason, message } = outcome(withOIDC(base(extra)));
    assert.equal(reason, 'Invalid', String(want));
    assert.match(message, want);
    assert.equal(oidc?.claimsToHeaders.length, 0);
    assert.equal(oidc?.forwardIDToken, null);
    assert.notEqual(oidc?.cookieKey, '');
  }
});

test('a second oidc policy on the same target is Conflicted', () => {
  const input = withOIDC(base());
  const newer = {
    metadata: {
      name: 'login-newer',
      namespace: 'infra',
      generation: 1,
      creationTimestamp: '2026-02-01T00:00:00Z',
    },
    spec: { targetRefs: [OTHER], oidc: base() },
  };
  const out = translate({ ...input, trafficPolicies: [...(input.trafficPolicies ?? []), newer] });
  const status = out.trafficPolicies?.find((x) => x.name === 'login-newer');
  assert.equal(status?.ancestors[0].conditions[0].reason, 'Conflicted');
});

test('caCertificateRef puts the PEM bundle in the IR; a bundle that does not parse trusts no provider', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-oidc-ca-'));
  try {
    const pem = await readFile((await createCA(dir, 'ca', 'oidc-ca')).cert, 'utf8');
    const withCA = (data: Record<string, string>) =>
      withOIDC(base({ caCertificateRef: { name: 'idp-ca' } }), [
        secret('oidc-client', CLIENT),
        secret('idp-ca', data),
      ]);
    const good = outcome(withCA({ 'ca.crt': pem }));
    assert.equal(good.reason, 'Accepted');
    assert.equal(good.oidc?.caCertificates, pem.trim());
    assert.equal(outcome(withOIDC(base())).oidc?.caCertificates, null);
    for (const [data, want] of [
      [{ 'ca.crt': 'not a certificate' }, /oidc\.caCertificateRef: not PEM certificates/],
      [{ other: pem }, /oidc\.caCertificateRef: the Secret has no key ca\.crt/],
    ] as const) {
      const bad = outcome(withCA(data));
      assert.equal(bad.reason, 'Invalid');
      assert.match(bad.message, want);
      assert.equal(bad.oidc?.issuer, '', 'closed: no provider is trusted');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
