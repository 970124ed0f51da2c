// TrafficPolicy `cors`, `retry`, `timeouts` and `transformation` in translation: read into the IR,
// merged field by field with GEP-713 precedence, and each wrong value Invalid, named, and left out
// while the rest still applies.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { loadInput } from './golden-cases.ts';

const REF = { group: 'gateway.networking.k8s.io' };

function withPolicies(...policies: [string, string, Record<string, unknown>][]): TranslateInput {
  const input = loadInput('traffic-policies');
  const added = policies.map(([name, created, spec]) => ({
    metadata: { name, namespace: 'infra', generation: 2, creationTimestamp: created },
    spec,
  }));
  return { ...input, trafficPolicies: [...(input.trafficPolicies ?? []), ...added] };
}

/** Each route's merged policy by route ID (first listener it is on). */
function policies(input: TranslateInput): Map<string, TrafficPolicyIR | undefined> {
  const out = new Map<string, TrafficPolicyIR | undefined>();
  for (const p of translate(input).ir.ports)
    for (const l of p.listeners)
      for (const v of l.virtualHosts)
        for (const r of v.routes) if (!out.has(r.id)) out.set(r.id, r.trafficPolicy);
  return out;
}

function condition(input: TranslateInput, name: string): { reason: string; message: string } {
  const p = translate(input).trafficPolicies?.find((x) => x.name === name);
  assert.ok(p, `no status for ${name}`);
  const c = p.ancestors[0].conditions[0];
  return { reason: c.reason, message: c.message };
}

const CORS = {
  allowOrigins: ['https://app.example.com', 'https://*.example.org', 'http://[::1]:8080'],
  allowMethods: ['GET', 'PUT'],
  allowHeaders: ['X-Trace'],
  exposeHeaders: ['*'],
  allowCredentials: true,
  maxAge: 600,
};

test('valid fields are Accepted and read into the IR', () => {
  const input = withPolicies([
    'full',
    '2026-01-01T00:00:00Z',
    {
      targetRefs: [{ ...REF, kind: 'HTTPRoute', name: 'other' }],
      cors: CORS,
      retry: {
        attempts: 3,
        perTryTimeout: '250ms',
        retryOn: ['connect-failure', 'retriable-status-codes'],
        statusCodes: [409, 503],
        backoff: { base: '10ms', max: '1s' },
      },
      timeouts: { request: '10s', backendRequest: '2s', idle: '1m' },
      transformation: {
        requestHeaders: {
          set: [{ name: 'X-Client', value: '%CLIENT_IP%' }],
          add: [{ name: 'X-Tag', value: '100% literal' }],
          remove: ['X-Internal'],
        },
        responseHeaders: { set: [{ name: 'X-Request-Id', value: '%REQUEST_ID%' }], remove: ['Server'] },
      },
    },
  ]);
  assert.deepEqual(condition(input, 'full').reason, 'Accepted');
  const p = [...policies(input)].find(([id]) => id.startsWith('infra/other/'))?.[1];
  assert.deepEqual(p?.cors, CORS);
  assert.deepEqual(p?.retry, {
    attempts: 3,
    perTryTimeoutMs: 250,
    codes: [409, 503],
    onConnectFailure: true,
    onReset: false,
    backoffMs: 10,
    backoffMaxMs: 1000,
  });
  assert.deepEqual(p?.timeouts, { requestMs: 10_000, backendRequestMs: 2000, idleMs: 60_000 });
  assert.deepEqual(p?.transformation, {
    requestHeaders: {
      set: [{ name: 'x-client', value: '%CLIENT_IP%' }],
      add: [{ name: 'x-tag', value: '100% literal' }],
      remove: ['x-internal'],
    },
    responseHeaders: { set: [{ name: 'x-request-id', value: '%REQUEST_ID%' }], add: [], remove: ['server'] },
  });
});

test('retryOn 5xx and gateway-error expand to their codes and retry failures; the default is gateway-error', () => {
  const input = withPolicies(
    [
      'five',
      '2026-01-01T00:00:00Z',
      { targetRefs: [{ ...REF, kind: 'HTTPRoute', name: 'other' }], retry: { retryOn: ['5xx'] } },
    ],
    [
      'plain',
      '2026-01-02T00:00:00Z',
      { targetRefs: [{ ...REF, kind: 'HTTPRoute', name: 'app' }], retry: {} },
    ],
  );
  const all = policies(input);
  const five = [...all].find(([id]) => id.startsWith('infra/other/'))?.[1]?.retry;
  assert.equal(five?.codes.length, 100);
  assert.equal(five?.onConnectFailure && five.onReset, true);
  assert.deepEqual(all.get('infra/app/1/0')?.retry, {
    attempts: 1,
    perTryTimeoutMs: 0,
    codes: [502, 503, 504],
    onConnectFailure: true,
    onReset: true,
    backoffMs: 25,
    backoffMaxMs: 250,
  });
});

test('the new fields take part in precedence: rule over route over listener over Gateway, field by field', () => {
  const input = withPolicies(
    [
      'gw-wide',
      '2026-01-01T00:00:00Z',
      {
        targetRefs: [{ ...REF, kind: 'Gateway', name: 'gw' }],
        cors: CORS,
        retry: { attempts: 1 },
        timeouts: { request: '30s' },
      },
    ],
    [
      'route-transform',
      '2026-01-02T00:00:00Z',
      {
        targetRefs: [{ ...REF, kind: 'HTTPRoute', name: 'app' }],
        transformation: { requestHeaders: { set: [{ name: 'x-route', value: 'app' }] } },
        timeouts: { request: '5s' },
      },
    ],
    [
      'rule-retry',
      '2026-01-03T00:00:00Z',
      {
        targetRefs: [{ ...REF, kind: 'HTTPRoute', name: 'app', sectionName: 'admin' }],
        retry: { attempts: 4 },
      },
    ],
  );
  const all = policies(input);
  const admin = all.get('infra/app/0/0');
  const rest = all.get('infra/app/1/0');
  assert.equal(admin?.retry?.attempts, 4); // rule
  assert.equal(rest?.retry?.attempts, 1); // Gateway
  assert.equal(admin?.timeouts?.requestMs, 5000); // route over Gateway
  assert.deepEqual(admin?.cors, CORS); // Gateway
  assert.equal(rest?.transformation?.requestHeaders.set[0].value, 'app'); // route
  const other = [...all].find(([id]) => id.startsWith('infra/other/'))?.[1];
  assert.equal(other?.timeouts?.requestMs, 30_000);
  assert.equal(other?.transformation, undefined);
  for (const name of ['gw-wide', 'route-transform', 'rule-retry'])
    assert.equal(condition(input, name).reason, 'Accepted', name);
});

test('each wrong value is Invalid, named in the message, and left out; the rest still applies', () => {
  const input = withPolicies([
    'broken',
    '2026-01-01T00:00:00Z',
    {
      targetRefs: [{ ...REF, kind: 'HTTPRoute', name: 'other' }],
      cors: {
        allowOrigins: ['https://ok.example.com', 'not an origin'],
        allowMethods: ['GET', 'BAD METHOD'],
        maxAge: 0,
      },
      retry: {
        attempts: -1,
        retryOn: ['reset', 'sometimes'],
        statusCodes: [200, 503],
        backoff: { base: '1s', max: '10ms' },
      },
      timeouts: { request: 'soon', idle: '5s' },
      transformation: {
        requestHeaders: {
          set: [
            { name: 'Content-Length', value: '0' },
            { name: 'x-ok', value: 'yes' },
            { name: 'x-secret', value: '%ENV_SECRET%' },
            { name: 'x-split', value: 'a\r\nx-evil: 1' },
          ],
          remove: ['Host', 'x-gone'],
        },
      },
    },
  ]);
  const { reason, message } = condition(input, 'broken');
  assert.equal(reason, 'Invalid');
  for (const want of [
    /cors\.allowOrigins: "not an origin" left out/,
    /cors\.allowMethods: "BAD METHOD" left out/,
    /cors\.maxAge must be/,
    /retry\.attempts must be/,
    /retry\.retryOn: "sometimes" is not one of/,
    /retry\.statusCodes: 200 is not 400-599/,
    /retry\.backoff\.max is less than backoff\.base/,
    /timeouts\.request "soon" is not a duration/,
    /transformation\.requestHeaders\.set\[0\]\.name "Content-Length"/,
    /transformation\.requestHeaders\.set\[2\]\.value: unknown variable %ENV_SECRET%/,
    /transformation\.requestHeaders\.set\[3\]\.value is not printable/,
    /transformation\.requestHeaders\.remove\[0\] "Host"/,
  ])
    assert.match(message, want);
  const p = [...policies(input)].find(([id]) => id.startsWith('infra/other/'))?.[1];
  assert.deepEqual(p?.cors?.allowOrigins, ['https://ok.example.com']);
  assert.deepEqual(p?.cors?.allowMethods, ['GET']);
  assert.equal(p?.cors?.maxAge, 5);
  assert.equal(p?.retry?.attempts, 1);
  assert.deepEqual(p?.retry?.codes, [503]);
  assert.equal(p?.retry?.onReset, true);
  assert.equal(p?.retry?.backoffMaxMs, p?.retry?.backoffMs);
  assert.deepEqual(p?.timeouts, { requestMs: 0, backendRequestMs: 0, idleMs: 5000 });
  assert.deepEqual(p?.transformation?.requestHeaders, {
    set: [{ name: 'x-ok', value: 'yes' }],
    add: [],
    remove: ['x-gone'],
  });
});
