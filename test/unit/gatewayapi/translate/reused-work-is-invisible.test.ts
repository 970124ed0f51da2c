import assert from 'node:assert/strict';
import { test } from 'node:test';
import { translate, type TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { caseNames, loadInput } from './golden-cases.ts';

const fresh = (input: TranslateInput): TranslateInput => structuredClone(input);

// translate reuses compiled routes, the Gateway phase and attachments for arrays it has seen; the
// output must be what a translation of new copies of the same objects gives.
test('a translation that reuses earlier work equals one from fresh copies, for every golden case', () => {
  for (const name of caseNames()) {
    const input = loadInput(name);
    translate(input);
    assert.deepEqual(translate(input), translate(fresh(input)), `${name}: same arrays twice`);
  }
});

test('after one collection changes, reused work for the others still gives the fresh answer', () => {
  for (const name of caseNames()) {
    const input = loadInput(name);
    translate(input);
    const fewerRoutes = { ...input, httpRoutes: input.httpRoutes.slice(1) };
    assert.deepEqual(translate(fewerRoutes), translate(fresh(fewerRoutes)), `${name}: a route removed`);
    const noServices = { ...fewerRoutes, services: [] };
    assert.deepEqual(translate(noServices), translate(fresh(noServices)), `${name}: Services gone`);
    const fewerGateways = { ...noServices, gateways: noServices.gateways.slice(1) };
    assert.deepEqual(translate(fewerGateways), translate(fresh(fewerGateways)), `${name}: a Gateway removed`);
  }
});

test('new Gateway objects with the same spec reuse the phase; a changed spec (even at the same generation) does not', () => {
  for (const name of caseNames()) {
    const input = loadInput(name);
    translate(input);
    const written = structuredClone(input.gateways).map((g) => ({
      ...g,
      status: { ...g.status, note: 'x' },
    }));
    const afterStatus = { ...input, gateways: written };
    assert.deepEqual(translate(afterStatus), translate(fresh(afterStatus)), `${name}: status-only change`);
    const respec = structuredClone(input.gateways).map((g) => ({
      ...g,
      spec: { ...g.spec, listeners: [] },
    }));
    const changed = { ...input, gateways: respec };
    assert.deepEqual(translate(changed), translate(fresh(changed)), `${name}: spec change`);
  }
});

test('routes removed and added back one by one: reused virtual hosts give the fresh answer', () => {
  for (const name of caseNames()) {
    const input = loadInput(name);
    const steps: TranslateInput[] = [input];
    for (let k = 0; k < input.httpRoutes.length; k++) {
      const without = input.httpRoutes.filter((_, n) => n !== k);
      steps.push(
        { ...input, httpRoutes: without },
        { ...input, httpRoutes: [...without, input.httpRoutes[k]] },
      );
    }
    // One pass with the same collections throughout (every step reuses the one before), then each
    // step again from fresh copies.
    const reused = steps.map((s) => translate(s));
    steps.forEach((s, n) => assert.deepEqual(reused[n], translate(fresh(s)), `${name}: step ${n}`));
  }
});

// Many routes on one listener, hostnames shared by some, changed a few at a time: the virtual hosts
// are then patched rather than rebuilt (and rebuilt once a wildcard hostname appears).
test('hundreds of routes changing a few at a time: patched virtual hosts give the fresh answer', () => {
  const base = loadInput('basic');
  const gateway = base.gateways[0]!;
  const parentRef = { name: gateway.metadata!.name, namespace: gateway.metadata!.namespace };
  const route = (i: number, host: string, path = '/'): TranslateInput['httpRoutes'][number] => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name: `r-${i}`,
      namespace: gateway.metadata!.namespace,
      uid: `u-${i}-${host}-${path}`,
      generation: 1,
      creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 7)).toISOString(),
    },
    spec: {
      parentRefs: [parentRef],
      hostnames: [host],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: path } }], backendRefs: [] }],
    },
  });
  let routes = Array.from({ length: 300 }, (_, i) => route(i, `h${i % 250}.example.com`));
  const steps: TranslateInput[] = [{ ...base, httpRoutes: routes }];
  let seed = 7;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let step = 0; step < 60; step++) {
    const i = next(routes.length);
    const what = next(4);
    if (what === 0) routes = routes.filter((_, n) => n !== i);
    else if (what === 1) routes = [...routes, route(1000 + step, `new${step}.example.com`)];
    else if (what === 2)
      routes = routes.map((r, n) => (n === i ? route(i, `h${next(250)}.example.com`, '/v') : r));
    else routes = [...routes, route(2000 + step, `h${next(250)}.example.com`, `/p${step}`)];
    if (step === 50) routes = [...routes, route(3000, '*.example.com')];
    steps.push({ ...base, httpRoutes: routes });
  }
  const reused = steps.map((s) => translate(s));
  steps.forEach((s, n) => assert.deepEqual(reused[n], translate(fresh(s)), `step ${n}`));
});
