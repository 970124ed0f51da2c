// TrafficPolicy `transformation.requestBody` / `responseBody` in translation: a literal read into
// the IR beside the header changes; a wrong one Invalid, named by its field, and left out while
// the rest of `transformation` still applies.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { MAX_BODY_BYTES } from '../../../../src/gatewayapi/translate/traffic-policy-body-transform.ts';
import { loadInput } from './golden-cases.ts';

const TARGET = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'other' };

function withPolicy(transformation: unknown): TranslateInput {
  const input = loadInput('traffic-policies');
  const added = {
    metadata: {
      name: 'bodies',
      namespace: 'infra',
      generation: 2,
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    spec: { targetRefs: [TARGET], transformation },
  };
  return { ...input, trafficPolicies: [...(input.trafficPolicies ?? []), added] };
}

function outcome(input: TranslateInput): {
  policy: TrafficPolicyIR | undefined;
  reason: string;
  message: string;
} {
  const out = translate(input);
  let policy: TrafficPolicyIR | undefined;
  for (const p of out.ir.ports)
    for (const l of p.listeners)
      for (const v of l.virtualHosts)
        for (const r of v.routes) if (r.id.startsWith('infra/other/')) policy ??= r.trafficPolicy;
  const c = out.trafficPolicies?.find((x) => x.name === 'bodies')?.ancestors[0].conditions[0];
  assert.ok(c, 'no status for the policy');
  return { policy, reason: c.reason, message: c.message };
}

test('literal bodies are Accepted and read into the IR beside the header changes', () => {
  const { policy, reason } = outcome(
    withPolicy({
      requestHeaders: { set: [{ name: 'Content-Type', value: 'application/json' }] },
      requestBody: { set: '{"fixed":true}' },
      responseBody: { set: '' },
    }),
  );
  assert.equal(reason, 'Accepted');
  assert.deepEqual(policy?.transformation, {
    requestHeaders: { set: [{ name: 'content-type', value: 'application/json' }], add: [], remove: [] },
    responseHeaders: { set: [], add: [], remove: [] },
    requestBody: { set: '{"fixed":true}' },
    responseBody: { set: '' },
  });
});

test('without body fields the IR keeps its shape', () => {
  const { policy } = outcome(withPolicy({ responseHeaders: { add: [{ name: 'X-A', value: 'b' }] } }));
  assert.equal(policy?.transformation !== undefined && 'requestBody' in policy.transformation, false);
  assert.equal(policy?.transformation !== undefined && 'responseBody' in policy.transformation, false);
});

test('a body that is not text or over the limit in UTF-8 bytes is Invalid, named, and left out', () => {
  // Under the limit in characters (what the CRD's maxLength counts), over it in bytes.
  const wide = 'é'.repeat(MAX_BODY_BYTES / 2 + 1);
  const { policy, reason, message } = outcome(
    withPolicy({
      requestHeaders: { set: [{ name: 'X-Ok', value: 'yes' }] },
      requestBody: { set: 42 },
      responseBody: { set: wide },
    }),
  );
  assert.equal(reason, 'Invalid');
  assert.match(message, /transformation\.requestBody\.set must be text of at most 65536 bytes/);
  assert.match(message, /transformation\.responseBody\.set must be text of at most 65536 bytes/);
  assert.equal(policy?.transformation?.requestBody, undefined);
  assert.equal(policy?.transformation?.responseBody, undefined);
  assert.deepEqual(policy?.transformation?.requestHeaders.set, [{ name: 'x-ok', value: 'yes' }]);
});

test('an empty body object names the missing set; exactly the limit is accepted', () => {
  const missing = outcome(withPolicy({ requestBody: {} }));
  assert.equal(missing.reason, 'Invalid');
  assert.match(missing.message, /transformation\.requestBody\.set must be text/);
  const full = outcome(withPolicy({ responseBody: { set: 'x'.repeat(MAX_BODY_BYTES) } }));
  assert.equal(full.reason, 'Accepted');
  assert.equal(full.policy?.transformation?.responseBody?.set.length, MAX_BODY_BYTES);
});
