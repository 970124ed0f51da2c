import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { readHtpasswd } from '../../../../src/gatewayapi/translate/traffic-policy-fields.ts';
import { loadInput } from './golden-cases.ts';

type Obj = { metadata: Record<string, unknown>; spec: Record<string, unknown> };

/** The traffic policy of route `id` on the listener `listener` of Gateway infra/gw. */
function policyOf(
  input: TranslateInput,
  listener: string,
  host: string,
  id: string,
): TrafficPolicyIR | undefined {
  const out = translate(input);
  for (const p of out.ir.ports)
    for (const l of p.listeners)
      if (p.gateway === 'infra/gw' && l.name === listener)
        for (const v of l.virtualHosts)
          if (v.hostname === host) return v.routes.find((r) => r.id === id)?.trafficPolicy;
  assert.fail(`no route ${id} on ${listener}/${host}`);
}

function accepted(input: TranslateInput, name: string): { reason: string; message: string }[] {
  const p = translate(input).trafficPolicies?.find((x) => x.name === name);
  assert.ok(p, `no status for ${name}`);
  return p.ancestors.map((a) => ({ reason: a.conditions[0].reason, message: a.conditions[0].message }));
}

function withPolicy(
  input: TranslateInput,
  name: string,
  created: string,
  spec: Record<string, unknown>,
): TranslateInput {
  const p: Obj = { metadata: { name, namespace: 'infra', generation: 1, creationTimestamp: created }, spec };
  return { ...input, trafficPolicies: [...(input.trafficPolicies ?? []), p] };
}

const APP = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'app' };

test('the most specific target wins each field: rule over route over listener over Gateway', () => {
  const input = loadInput('traffic-policies');
  const admin = policyOf(input, 'http', 'app.example.com', 'infra/app/0/0');
  assert.deepEqual(admin?.ipFilter, { allow: ['10.0.0.0/8', '::ffff:10.0.0.0/104'], deny: [] }); // rule over Gateway
  assert.equal(admin?.requestBodyLimit, 1024); // listener
  assert.equal(admin?.basicAuth?.realm, 'apps'); // route
  assert.equal(admin?.apiKeyAuth?.header, 'x-admin-key'); // rule
  const rest = policyOf(input, 'http', 'app.example.com', 'infra/app/1/0');
  assert.deepEqual(rest?.ipFilter?.deny, ['192.0.2.0/24', '2001:db8::/32']);
  assert.equal(rest?.apiKeyAuth, null);
  // The listener-level limit stays on its listener.
  assert.equal(policyOf(input, 'other', 'app.example.com', 'infra/app/1/0')?.requestBodyLimit, null);
});

test('on one target the older policy wins a field and the newer one is Conflicted and applies nothing there', () => {
  const input = loadInput('traffic-policies');
  assert.equal(policyOf(input, 'other', 'app.example.com', 'infra/app/1/0')?.requestBodyLimit, null);
  assert.deepEqual(
    accepted(input, 'route-basic-newer').map((c) => c.reason),
    ['Conflicted'],
  );
});

test('among policies created at the same time the first by namespace/name wins', () => {
  const at = '2030-01-01T00:00:00Z';
  const spec = (realm: string) => ({ targetRefs: [APP], basicAuth: { secretRef: { name: 'users' }, realm } });
  const base = loadInput('traffic-policies');
  base.trafficPolicies = [];
  for (const order of [
    ['b', 'a'],
    ['a', 'b'],
  ]) {
    let input = base;
    for (const n of order) input = withPolicy(input, n, at, spec(`realm-${n}`));
    assert.equal(policyOf(input, 'http', 'app.example.com', 'infra/app/1/0')?.basicAuth?.realm, 'realm-a');
    assert.deepEqual(
      accepted(input, 'b').map((c) => c.reason),
      ['Conflicted'],
    );
    assert.deepEqual(
      accepted(input, 'a').map((c) => c.reason),
      ['Invalid'],
    ); // bob's apr1 line
  }
});

test('a policy naming a missing Secret is Invalid, names the Secret, fails closed, and others keep applying', () => {
  const input = loadInput('traffic-policies');
  const statuses = accepted(input, 'missing-secret');
  assert.ok(
    statuses.every((s) => s.reason === 'Invalid' && s.message.includes('Secret infra/nope not found')),
  );
  const other = translate(input).ir.ports.find((p) => p.port === 8080)!.listeners[0].virtualHosts[0]
    .routes[0];
  assert.deepEqual(Object.keys(other.trafficPolicy?.basicAuth?.users ?? { x: 1 }), []);
  assert.deepEqual(other.trafficPolicy?.ipFilter, { allow: [], deny: ['0.0.0.0/0', '::/0'] });
  assert.deepEqual(
    accepted(input, 'rule-keys').map((c) => c.reason),
    ['Accepted'],
  );
});

test('targets that are missing or not ours are TargetNotFound with the target as ancestor', () => {
  const out = translate(loadInput('traffic-policies')).trafficPolicies!.find(
    (p) => p.name === 'targets-nothing',
  )!;
  assert.deepEqual(
    out.ancestors.map((a) => [
      a.ancestorRef.kind,
      a.ancestorRef.name,
      a.ancestorRef.sectionName,
      a.conditions[0].reason,
    ]),
    [
      ['HTTPRoute', 'app', 'no-such-rule', 'TargetNotFound'],
      ['HTTPRoute', 'ghost', undefined, 'TargetNotFound'],
      ['Gateway', 'gw', 'no-such-listener', 'TargetNotFound'],
    ],
  );
  const foreign = withPolicy(loadInput('traffic-policies'), 'foreign', '2030-01-01T00:00:00Z', {
    targetRefs: [{ group: 'example.com', kind: 'Gateway', name: 'gw' }],
    requestBodyLimit: { maxBytes: 1 },
  });
  assert.deepEqual(
    accepted(foreign, 'foreign').map((c) => c.reason),
    ['TargetNotFound'],
  );
});

test('without TrafficPolicies the IR is the one translate gives anyway', () => {
  const input = loadInput('traffic-policies');
  const plain = translate({ ...input, trafficPolicies: [] });
  assert.equal(plain.trafficPolicies, undefined);
  assert.ok(JSON.stringify(plain.ir).indexOf('trafficPolicy') < 0);
});

test('a localRateLimit that does not parse is Invalid and closed: one request an hour', () => {
  const input = withPolicy(loadInput('traffic-policies'), 'bad-limit', '2030-01-01T00:00:00Z', {
    targetRefs: [{ ...APP, sectionName: 'admin' }],
    localRateLimit: { tokens: 0, fillInterval: '1.5s' },
  });
  const limit = policyOf(input, 'http', 'app.example.com', 'infra/app/0/0')?.localRateLimit;
  assert.deepEqual(limit, {
    bucket: 'infra/bad-limit@3|infra/app#admin',
    tokens: 1,
    fillIntervalMs: 3_600_000,
  });
  assert.deepEqual(
    accepted(input, 'bad-limit').map((c) => c.reason),
    ['Invalid'],
  );
});

test('with the same policy and Secret arrays a virtual host keeps its object; a new policy array merges again', () => {
  const input = loadInput('traffic-policies');
  const hosts = (i: TranslateInput) => translate(i).ir.ports[0].listeners[0].virtualHosts[0];
  const first = hosts(input);
  assert.equal(hosts({ ...input }), first);
  const changed = hosts({ ...input, trafficPolicies: [...(input.trafficPolicies ?? [])] });
  assert.notEqual(changed, first);
  assert.deepEqual(changed, first);
});

test('htpasswd lines other than user:{SHA}base64 are reported and never let anyone in', () => {
  const r = readHtpasswd(
    '# comment\n\nalice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\nbob:plain\n:{SHA}x\ncarol:{SHA}short\n',
  );
  assert.deepEqual(Object.keys(r.users), ['alice']);
  assert.deepEqual(r.badLines, [4, 5, 6]);
});
