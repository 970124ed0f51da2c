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
