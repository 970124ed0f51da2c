import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { loadInput } from './golden-cases.ts';

// The listener-sets case with a Gateway listener `one` beside set `a`'s listener `one`: the same
// name, other hostnames, both serving route `to-both` (through the Gateway and through the set).
type Obj = { metadata: Record<string, unknown>; spec: Record<string, unknown> };

const GATEWAY_ONE = 'one.example.com';
const SET_ONE = 'a.example.com';
const BOTH = 'infra/to-both/0/0';

function base(): TranslateInput {
  const input = loadInput('listener-sets');
  return {
    ...input,
    gateways: input.gateways.map((g) => {
      const raw = g as unknown as Obj;
      if (raw.metadata.name !== 'gw') return g;
      const listeners = [
        ...(raw.spec.listeners as unknown[]),
        { name: 'one', port: 80, protocol: 'HTTP', hostname: GATEWAY_ONE },
      ];
      return { ...raw, spec: { ...raw.spec, listeners } } as never;
    }),
  };
}

function withPolicies(input: TranslateInput, ...specs: [string, Record<string, unknown>][]): TranslateInput {
  const policies = specs.map(([name, spec], n): Obj => ({
    metadata: { name, namespace: 'infra', generation: 1, creationTimestamp: `2030-01-0${n + 1}T00:00:00Z` },
    spec,
  }));
  return { ...input, trafficPolicies: policies as never };
}

const ref = (kind: string, name: string, sectionName?: string) => ({
  group: 'gateway.networking.k8s.io',
  kind,
  name,
  ...(sectionName === undefined ? {} : { sectionName }),
});

/** The traffic policy of route `id` served on Gateway infra/gw's port 80 under the listener of `hostname`. */
function policyOn(input: TranslateInput, hostname: string, id: string): TrafficPolicyIR | undefined {
  const port = translate(input).ir.ports.find((p) => p.gateway === 'infra/gw' && p.port === 80);
  const listener = port?.listeners.find((l) => l.hostname === hostname);
  assert.ok(listener, `no listener for ${hostname}`);
  const route = listener.virtualHosts.flatMap((v) => v.routes).find((r) => r.id === id);
  assert.ok(route, `no route ${id} on ${hostname}`);
  return route.trafficPolicy;
}

/** Each ancestor of policy infra/<name>: `kind/name=reason`. */
function ancestors(input: TranslateInput, name: string): string[] {
  const p = translate(input).trafficPolicies?.find((x) => x.name === name);
  assert.ok(p, `no status for ${name}`);
  return p.ancestors.map((a) => `${a.ancestorRef.kind}/${a.ancestorRef.name}=${a.conditions[0].reason}`);
}

test('a policy on a Gateway listener never reaches a set listener of the same name', () => {
  const input = withPolicies(base(), [
    'gw-one',
    { targetRefs: [ref('Gateway', 'gw', 'one')], requestBodyLimit: { maxBytes: 100 } },
  ]);
  assert.equal(policyOn(input, GATEWAY_ONE, BOTH)?.requestBodyLimit, 100);
  assert.equal(policyOn(input, SET_ONE, BOTH), undefined);
  assert.deepEqual(ancestors(input, 'gw-one'), ['Gateway/gw=Accepted']);
});

test('a Gateway-wide policy is inherited by the sets of the Gateway (GEP-1713)', () => {
  const input = withPolicies(base(), [
    'gw-all',
    { targetRefs: [ref('Gateway', 'gw')], requestBodyLimit: { maxBytes: 100 } },
  ]);
  assert.equal(policyOn(input, GATEWAY_ONE, BOTH)?.requestBodyLimit, 100);
  assert.equal(policyOn(input, SET_ONE, BOTH)?.requestBodyLimit, 100);
  assert.equal(policyOn(input, SET_ONE, 'infra/to-set/0/0')?.requestBodyLimit, 100);
});

test('a policy on a ListenerSet, or one of its listeners, applies there and not to the Gateway listeners', () => {
  for (const target of [ref('ListenerSet', 'a'), ref('ListenerSet', 'a', 'one')]) {
    const input = withPolicies(base(), [
      'set',
      { targetRefs: [target], requestBodyLimit: { maxBytes: 200 } },
    ]);
    assert.equal(policyOn(input, SET_ONE, BOTH)?.requestBodyLimit, 200);
    assert.equal(policyOn(input, SET_ONE, 'infra/to-set/0/0')?.requestBodyLimit, 200);
    assert.equal(policyOn(input, GATEWAY_ONE, BOTH), undefined);
    assert.equal(policyOn(input, 'gw.example.com', BOTH), undefined);
    assert.deepEqual(ancestors(input, 'set'), ['Gateway/gw=Accepted'], 'the ancestor is the set’s Gateway');
  }
});

test('per field the set listener wins over the set, and the set over the Gateway', () => {
  const input = withPolicies(
    base(),
    [
      'gw-all',
      {
        targetRefs: [ref('Gateway', 'gw')],
        requestBodyLimit: { maxBytes: 1 },
        ipFilter: { allow: ['10.0.0.0/8'] },
      },
    ],
    [
      'set',
      {
        targetRefs: [ref('ListenerSet', 'a')],
        requestBodyLimit: { maxBytes: 2 },
        ipFilter: { deny: ['192.0.2.0/24'] },
      },
    ],
    ['set-one', { targetRefs: [ref('ListenerSet', 'a', 'one')], requestBodyLimit: { maxBytes: 3 } }],
  );
  const onSet = policyOn(input, SET_ONE, BOTH);
  assert.equal(onSet?.requestBodyLimit, 3);
  assert.deepEqual(onSet?.ipFilter?.deny, ['192.0.2.0/24']);
  assert.deepEqual(onSet?.policies, ['infra/set', 'infra/set-one']);
  const onGateway = policyOn(input, GATEWAY_ONE, BOTH);
  assert.equal(onGateway?.requestBodyLimit, 1);
  assert.deepEqual(onGateway?.policies, ['infra/gw-all']);
});

test('a set that is not accepted, or a listener a set lacks, is TargetNotFound', () => {
  const input = withPolicies(
    base(),
    ['not-accepted', { targetRefs: [ref('ListenerSet', 'b')], requestBodyLimit: { maxBytes: 1 } }],
    ['no-listener', { targetRefs: [ref('ListenerSet', 'a', 'nope')], requestBodyLimit: { maxBytes: 1 } }],
    [
      'wrong-group',
      {
        targetRefs: [{ ...ref('ListenerSet', 'a'), group: 'example.com' }],
        requestBodyLimit: { maxBytes: 1 },
      },
    ],
  );
  assert.deepEqual(ancestors(input, 'not-accepted'), ['ListenerSet/b=TargetNotFound']);
  assert.deepEqual(ancestors(input, 'no-listener'), ['ListenerSet/a=TargetNotFound']);
  assert.deepEqual(ancestors(input, 'wrong-group'), ['TrafficPolicy/wrong-group=TargetNotFound']);
  assert.equal(policyOn(input, SET_ONE, BOTH), undefined);
});

test('a policy on an HTTPRoute attached only through a ListenerSet is accepted with the set’s Gateway', () => {
  const input = withPolicies(base(), [
    'route',
    { targetRefs: [ref('HTTPRoute', 'to-set')], requestBodyLimit: { maxBytes: 5 } },
  ]);
  assert.deepEqual(ancestors(input, 'route'), ['Gateway/gw=Accepted']);
  assert.equal(policyOn(input, SET_ONE, 'infra/to-set/0/0')?.requestBodyLimit, 5);
});
