import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TranslateInput, TranslateOutput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { loadInput } from './golden-cases.ts';

type Raw = { metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec: never };

/** `type=status/reason` of each condition of ListenerSet `key`, and of each of its listeners. */
function setConditions(
  out: TranslateOutput,
  key: string,
): { set: string[]; listeners: Record<string, string[]> } {
  const s = out.listenerSets?.find((x) => `${x.namespace}/${x.name}` === key);
  assert.ok(s, `no status for ListenerSet ${key}`);
  const show = (cs: { type: string; status: string; reason: string }[]) =>
    cs.map((c) => `${c.type}=${c.status}/${c.reason}`);
  return {
    set: show(s.status.conditions),
    listeners: Object.fromEntries(s.status.listeners.map((l) => [l.name, show(l.conditions)])),
  };
}

/** `Accepted` status/reason of each parent entry of HTTPRoute `infra/<name>`, by parent kind/name/section. */
function routeParents(out: TranslateOutput, name: string): Record<string, string> {
  const r = out.httpRoutes.find((x) => x.namespace === 'infra' && x.name === name);
  assert.ok(r, `no status for HTTPRoute ${name}`);
  return Object.fromEntries(
    r.parents.map((p) => {
      const c = p.conditions.find((x) => x.type === 'Accepted')!;
      const ref = p.parentRef;
      return [
        `${ref.kind}/${ref.name}${ref.sectionName ? `/${ref.sectionName}` : ''}`,
        `${c.status}/${c.reason}`,
      ];
    }),
  );
}

/** `hostname → route ids` served on port 80 of Gateway `infra/<gateway>`. */
function served(out: TranslateOutput, gateway: string): Record<string, string[]> {
  const port = out.ir.ports.find((p) => p.gateway === `infra/${gateway}` && p.port === 80);
  assert.ok(port, `no port 80 for ${gateway}`);
  return Object.fromEntries(
    port.listeners.map((l) => [l.hostname ?? '*', l.virtualHosts.flatMap((v) => v.routes.map((r) => r.id))]),
  );
}

function withGatewaySpec(
  input: TranslateInput,
  name: string,
  patch: Record<string, unknown>,
): TranslateInput {
  return {
    ...input,
    gateways: input.gateways.map((g) => {
      const raw = g as unknown as Raw;
      return raw.metadata.name === name
        ? ({ ...raw, spec: { ...(raw.spec as object), ...patch } } as never)
        : g;
    }),
  };
}

const ACCEPTED = [
  'Accepted=True/Accepted',
  'Programmed=True/Programmed',
  'ResolvedRefs=True/ResolvedRefs',
  'Conflicted=False/NoConflicts',
];

test('a set listener clashing with the Gateway listener is Conflicted while the rest of the set serves', () => {
  const { set, listeners } = setConditions(translate(loadInput('listener-sets')), 'infra/a');
  assert.deepEqual(set, ['Accepted=True/ListenersNotValid', 'Programmed=True/Programmed']);
  assert.deepEqual(listeners.one, ACCEPTED);
  for (const [name, reason] of [
    ['http', 'HostnameConflict'],
    ['tcp', 'ProtocolConflict'],
  ])
    assert.deepEqual(listeners[name], [
      `Accepted=False/${reason}`,
      `Programmed=False/${reason}`,
      'ResolvedRefs=True/ResolvedRefs',
      `Conflicted=True/${reason}`,
    ]);
});

test('a newer set repeating an older set listener has no valid listener and is not accepted', () => {
  const { set, listeners } = setConditions(translate(loadInput('listener-sets')), 'infra/b');
  assert.deepEqual(set, ['Accepted=False/ListenersNotValid', 'Programmed=False/ListenersNotValid']);
  assert.equal(listeners.one[3], 'Conflicted=True/HostnameConflict');
});

test('among sets created at once the first by namespace/name wins the clash', () => {
  const input = loadInput('listener-sets');
  const sets = (input.listenerSets ?? []).map((s) => {
    const raw = structuredClone(s) as unknown as { metadata: Record<string, unknown> };
    raw.metadata.creationTimestamp = '2025-01-02T00:00:00Z';
    return raw as never;
  });
  const out = translate({ ...input, listenerSets: sets.reverse() });
  assert.equal(setConditions(out, 'infra/a').listeners.one[3], 'Conflicted=False/NoConflicts');
  assert.equal(setConditions(out, 'infra/b').listeners.one[3], 'Conflicted=True/HostnameConflict');
});

test('a Gateway lets sets in only from the namespaces allowedListeners names (default none)', () => {
  const input = loadInput('listener-sets');
  const out = translate(input);
  const notAllowed = ['Accepted=False/NotAllowed', 'Programmed=False/NotAllowed'];
  assert.deepEqual(setConditions(out, 'apps/elsewhere').set, notAllowed);
  assert.deepEqual(setConditions(out, 'infra/closed-set').set, notAllowed);
  assert.equal(out.gateways.find((g) => g.name === 'gw')?.status.attachedListenerSets, 1);
  assert.equal(out.gateways.find((g) => g.name === 'closed')?.status.attachedListenerSets, 0);

  const labelled = {
    ...input,
    namespaces: input.namespaces.map((n) =>
      (n as unknown as Raw).metadata.name === 'apps'
        ? ({ metadata: { name: 'apps', labels: { team: 'apps' } } } as never)
        : n,
    ),
  };
  const selector = translate(
    withGatewaySpec(labelled, 'gw', {
      allowedListeners: { namespaces: { from: 'Selector', selector: { matchLabels: { team: 'apps' } } } },
    }),
  );
  assert.deepEqual(setConditions(selector, 'apps/elsewhere').set, [
    'Accepted=True/Accepted',
    'Programmed=True/Programmed',
  ]);
  assert.deepEqual(setConditions(selector, 'infra/a').set, notAllowed);
  const all = translate(withGatewaySpec(input, 'gw', { allowedListeners: { namespaces: { from: 'All' } } }));
  assert.equal(all.gateways.find((g) => g.name === 'gw')?.status.attachedListenerSets, 2);
});

test('routes reach set listeners only through a ListenerSet parentRef', () => {
  const out = translate(loadInput('listener-sets'));
  assert.deepEqual(routeParents(out, 'to-set'), { 'ListenerSet/a/one': 'True/Accepted' });
  assert.deepEqual(routeParents(out, 'to-both'), {
    'Gateway/gw': 'True/Accepted',
    'ListenerSet/a': 'True/Accepted',
  });
  assert.deepEqual(routeParents(out, 'set-section-via-gateway'), {
    'Gateway/gw/one': 'False/NoMatchingParent',
  });
  assert.deepEqual(served(out, 'gw'), {
    'gw.example.com': ['infra/to-both/0/0'],
    'a.example.com': ['infra/to-both/0/0', 'infra/to-set/0/0'],
  });
  const a = out.listenerSets?.find((s) => s.name === 'a');
  assert.equal(a?.status.listeners.find((l) => l.name === 'one')?.attachedRoutes, 2);
  assert.equal(out.gateways.find((g) => g.name === 'gw')?.status.listeners[0].attachedRoutes, 1);
});

test('a set listener allowing routes from Same means the namespace of the set', () => {
  const out = translate(loadInput('listener-sets'));
  const r = out.httpRoutes.find((x) => x.namespace === 'apps' && x.name === 'from-apps');
  assert.equal(r?.parents[0].conditions[0].reason, 'NotAllowedByListeners');
});

test('Gateways named by no ListenerSet and without allowedListeners are translated as before', () => {
  const input = loadInput('basic');
  const out = translate(input);
  assert.equal(out.listenerSets, undefined);
  for (const g of out.gateways) assert.equal('attachedListenerSets' in g.status, false);
  assert.deepEqual(translate({ ...input, listenerSets: [] }), out);
});
