import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayObjects, type CachedObject } from '../../../../src/gatewayapi/controller/gateway-services.ts';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { loadInput } from '../translate/golden-cases.ts';

type Obj = { metadata: Record<string, unknown>; spec: Record<string, unknown> };

/** The listener-sets case with more listeners in set `a` (accepted) and set `apps/elsewhere` (not allowed). */
function input(): TranslateInput {
  const base = loadInput('listener-sets');
  const more: Record<string, unknown[]> = {
    'infra/a': [
      { name: 'alt', port: 8080, protocol: 'HTTP' },
      { name: 'alt-2', port: 8080, protocol: 'HTTP', hostname: 'alt.example.com' },
      { name: 'dns', port: 5353, protocol: 'UDP' },
      { name: 'bad', port: 7000, protocol: 'HTTPS' }, // no certificateRefs: not served
    ],
    'apps/elsewhere': [{ name: 'closed', port: 9000, protocol: 'HTTP' }],
  };
  return {
    ...base,
    listenerSets: (base.listenerSets ?? []).map((s) => {
      const raw = s as unknown as Obj;
      const extra = more[`${String(raw.metadata.namespace)}/${String(raw.metadata.name)}`] ?? [];
      return {
        ...raw,
        spec: { ...raw.spec, listeners: [...(raw.spec.listeners as unknown[]), ...extra] },
      } as never;
    }),
  };
}

test('translate gives each Gateway the ports of the set listeners it serves, once each', () => {
  const out = translate(input());
  const gw = out.gateways.find((g) => g.name === 'gw');
  assert.deepEqual(gw?.listenerSetPorts, [
    { port: 80, protocol: 'TCP' },
    { port: 5353, protocol: 'UDP' },
    { port: 8080, protocol: 'TCP' },
  ]);
  assert.equal(
    out.gateways.find((g) => g.name === 'closed')?.listenerSetPorts,
    undefined,
    'a Gateway with no set listener served has none',
  );
});

test('the generated Service lists the Gateway listener ports and its set listener ports, deduplicated', () => {
  const inp = input();
  const out = translate(inp);
  const gw = out.gateways.find((g) => g.name === 'gw');
  assert.ok(gw);
  const object = inp.gateways.find((g) => g.metadata?.name === 'gw') as unknown as CachedObject;
  const [svc, slice] = gatewayObjects([
    {
      object: { ...object, metadata: { ...object.metadata, uid: 'uid-gw' } },
      addresses: gw.status.addresses.map((a) => a.value),
      listenerSetPorts: gw.listenerSetPorts,
    },
  ]);
  const ports = [
    { name: 'tcp-80', port: 80, protocol: 'TCP' },
    { name: 'udp-5353', port: 5353, protocol: 'UDP' },
    { name: 'tcp-8080', port: 8080, protocol: 'TCP' },
  ];
  assert.deepEqual(svc.manifest.spec, {
    type: 'ClusterIP',
    ports: ports.map((p) => ({ ...p, targetPort: p.port })),
  });
  assert.deepEqual(slice.manifest.ports, ports);
});
