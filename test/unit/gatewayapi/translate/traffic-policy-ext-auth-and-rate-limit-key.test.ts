import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
import type { TranslateInput, TranslateOutput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { loadInput } from './golden-cases.ts';

const OTHER = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'other' };
const AUTHZ_SERVICE = {
  metadata: { name: 'authz', namespace: 'infra' },
  spec: { ports: [{ name: 'http', protocol: 'TCP', port: 9000, targetPort: 9001 }] },
};
const AUTHZ_SLICE = {
  metadata: { name: 'authz-1', namespace: 'infra', labels: { 'kubernetes.io/service-name': 'authz' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 9001 }],
  endpoints: [{ addresses: ['10.0.9.1'] }],
};

function withPolicy(spec: Record<string, unknown>, base = loadInput('traffic-policies')): TranslateInput {
  const p = {
    metadata: { name: 'ext', namespace: 'infra', generation: 2, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { targetRefs: [OTHER], ...spec },
  };
  return {
    ...base,
    services: [...base.services, AUTHZ_SERVICE] as TranslateInput['services'],
    endpointSlices: [...base.endpointSlices, AUTHZ_SLICE] as TranslateInput['endpointSlices'],
    trafficPolicies: [...(base.trafficPolicies ?? []), p],
  };
}

/** The merged policy on route infra/other and the policy's Accepted condition. */
function outcome(out: TranslateOutput): {
  policy: TrafficPolicyIR | undefined;
  reason: string;
  message: string;
} {
  let policy: TrafficPolicyIR | undefined;
  for (const p of out.ir.ports)
    for (const l of p.listeners)
      for (const v of l.virtualHosts)
        for (const r of v.routes) if (r.id.startsWith('infra/other/')) policy ??= r.trafficPolicy;
  const c = out.trafficPolicies?.find((x) => x.name === 'ext')?.ancestors[0].conditions[0];
  assert.ok(c, 'no status for the policy');
  return { policy, reason: c.reason, message: c.message };
}

test('extAuth names a Service port of its namespace: its endpoints join the IR clusters, defaults filled in', () => {
  const out = translate(withPolicy({ extAuth: { backendRef: { name: 'authz', port: 9000 } } }));
  const { policy, reason } = outcome(out);
  assert.equal(reason, 'Accepted');
  assert.deepEqual(policy?.extAuth, {
    cluster: 'infra/authz:9000',
    pathPrefix: '',
    allowedHeaders: ['authorization', 'cookie'],
    headersToBackend: [],
    timeoutMs: 2000,
    failOpen: false,
  });
  assert.deepEqual(out.ir.clusters['infra/authz:9000']?.endpoints, [{ address: '10.0.9.1', port: 9001 }]);
  // The clusters stay sorted by name.
  const names = Object.keys(out.ir.clusters);
  assert.deepEqual(names, [...names].sort());
});

test('every extAuth field is read, header names lower-cased', () => {
  const { policy, reason } = outcome(
    translate(
      withPolicy({
        extAuth: {
          backendRef: { name: 'authz', namespace: 'infra', port: 9000 },
          pathPrefix: '/check/',
          allowedHeaders: ['Authorization', 'X-Api-Key'],
          headersToBackend: ['X-User', 'x-groups'],
          timeout: '500ms',
          failOpen: true,
        },
      }),
    ),
  );
  assert.equal(reason, 'Accepted');
  assert.deepEqual(policy?.extAuth, {
    cluster: 'infra/authz:9000',
    pathPrefix: '/check',
    allowedHeaders: ['authorization', 'x-api-key'],
    headersToBackend: ['x-groups', 'x-user'],
    timeoutMs: 500,
    failOpen: true,
  });
});

test('a missing Service is Invalid and stays closed, failOpen or not', () => {
  const { policy, reason, message } = outcome(
    translate(withPolicy({ extAuth: { backendRef: { name: 'nope', port: 9000 }, failOpen: true } })),
  );
  assert.equal(reason, 'Invalid');
  assert.match(message, /extAuth\.backendRef: Service infra\/nope not found\./);
  assert.equal(policy?.extAuth?.cluster, null);
  assert.equal(policy?.extAuth?.failOpen, false);
});

test('invalid extAuth fields are Invalid, each named, and take their defaults', () => {
  const { policy, reason, message } = outcome(
    translate(
      withPolicy({
        extAuth: {
          backendRef: { name: 'authz', port: 9000 },
          pathPrefix: 'no-slash',
          allowedHeaders: ['ok', 'bad header'],
          headersToBackend: ['Host'],
          timeout: '5 seconds',
          failOpen: 'yes',
        },
      }),
    ),
  );
  assert.equal(reason, 'Invalid');
  for (const field of [
    /extAuth\.pathPrefix/,
    /extAuth\.allowedHeaders: bad header/,
    /extAuth\.headersToBackend: Host/,
    /extAuth\.timeout/,
    /extAuth\.failOpen/,
  ])
    assert.match(message, field);
  assert.deepEqual(policy?.extAuth, {
    cluster: 'infra/authz:9000',
    pathPrefix: '',
    allowedHeaders: ['ok'],
    headersToBackend: [],
    timeoutMs: 2000,
    failOpen: false,
  });
  const other = outcome(
    translate(withPolicy({ extAuth: { backendRef: { name: 'authz', namespace: 'default', port: 9000 } } })),
  );
  assert.equal(other.reason, 'Invalid');
  assert.match(other.message, /extAuth\.backendRef\.namespace must be the policy's own \(infra\)/);
  assert.equal(other.policy?.extAuth?.cluster, null);
  const noPort = outcome(translate(withPolicy({ extAuth: { backendRef: { name: 'authz' } } })));
  assert.match(noPort.message, /extAuth\.backendRef needs a Service name and port/);
});

test('a Service that appears later reaches the IR although the policies are the same objects', () => {
  const base = loadInput('traffic-policies');
  const first = withPolicy({ extAuth: { backendRef: { name: 'late', port: 80 } } }, base);
  assert.equal(outcome(translate(first)).policy?.extAuth?.cluster, null);
  const late = { ...AUTHZ_SERVICE, metadata: { name: 'late', namespace: 'infra' } };
  const second: TranslateInput = {
    ...first,
    services: [
      ...first.services,
      { ...late, spec: { ports: [{ name: 'http', port: 80 }] } },
    ] as TranslateInput['services'],
  };
  const { policy, reason } = outcome(translate(second));
  assert.equal(reason, 'Accepted');
  assert.equal(policy?.extAuth?.cluster, 'infra/late:80');
});

test('localRateLimit.key: Header and Claim reach the IR; ClientIP keeps the IR as it was; bad keys are Invalid', () => {
  const limit = (key: unknown, extra: Record<string, unknown> = {}) =>
    outcome(translate(withPolicy({ localRateLimit: { tokens: 5, fillInterval: '1s', key }, ...extra })));
  const header = limit({ type: 'Header', header: 'X-Tenant' });
  assert.equal(header.reason, 'Accepted');
  assert.deepEqual(header.policy?.localRateLimit?.key, { type: 'Header', header: 'x-tenant' });
  const jwt = { providers: [{ issuer: 'https://i.test', jwks: { remote: { url: 'https://i.test/jwks' } } }] };
  const claim = limit({ type: 'Claim', claim: 'sub' }, { jwt });
  assert.equal(claim.reason, 'Accepted');
  assert.deepEqual(claim.policy?.localRateLimit?.key, { type: 'Claim', claim: 'sub' });
  const ip = limit({ type: 'ClientIP' });
  assert.equal(ip.reason, 'Accepted');
  assert.equal(ip.policy?.localRateLimit !== undefined && 'key' in ip.policy.localRateLimit, false);

  const noJWT = limit({ type: 'Claim', claim: 'sub' });
  assert.equal(noJWT.reason, 'Invalid');
  assert.match(noJWT.message, /localRateLimit\.key Claim needs jwt in the same policy/);
  for (const [key, pattern] of [
    [{ type: 'Header', header: 'bad header' }, /localRateLimit\.key\.header/],
    [{ type: 'Claim' }, /localRateLimit\.key\.claim/],
    [{ type: 'Cookie' }, /localRateLimit\.key\.type Cookie/],
  ] as const) {
    const r = limit(key);
    assert.equal(r.reason, 'Invalid');
    assert.match(r.message, pattern);
    assert.equal(r.policy?.localRateLimit?.tokens, 5);
  }
});
