import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Compile } from 'typebox/compile';
import { upstreamClusterCRD } from '../../../src/config/generate/crd.ts';
import { staleFiles } from '../../../src/config/generate/main.ts';

test('the committed CRD and configuration reference equal what the schema generates (npm run generate)', async () => {
  assert.deepEqual(await staleFiles(), []);
});

test('the generated CRD schema is structural: every node has a type, no anyOf/const/additionalProperties:false', () => {
  const crd = upstreamClusterCRD() as { spec: { versions: { schema: { openAPIV3Schema: unknown } }[] } };
  const walk = (n: Record<string, unknown>, path: string) => {
    assert.ok(typeof n.type === 'string', `${path}: type`);
    assert.ok(!('anyOf' in n) && !('const' in n), `${path}: no anyOf/const`);
    assert.notEqual(n.additionalProperties, false, `${path}: additionalProperties`);
    for (const [k, v] of Object.entries((n.properties ?? {}) as Record<string, Record<string, unknown>>))
      walk(v, `${path}.${k}`);
    if (n.items) walk(n.items as Record<string, unknown>, `${path}[]`);
  };
  walk(crd.spec.versions[0].schema.openAPIV3Schema as Record<string, unknown>, 'openAPIV3Schema');
});

test('an example object validates against the generated CRD schema (read as JSON Schema)', () => {
  const crd = upstreamClusterCRD() as {
    spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  };
  const spec = (crd.spec.versions[0].schema.openAPIV3Schema.properties as Record<string, object>).spec;
  // OpenAPI's boolean exclusiveMinimum is not JSON Schema's; drop it for this check.
  const json = JSON.parse(JSON.stringify(spec).replaceAll('"exclusiveMinimum":true', '"x-excl":true'));
  const check = Compile(json);
  const good = {
    endpoints: [{ name: 'a', url: 'https://10.0.0.1:6443' }],
    upstreamCA: { secretRef: { namespace: 'ns', name: 'ca' } },
    credentials: { secretRef: { namespace: 'ns', name: 'gw' } },
    rules: [{ name: 'r', match: { verbs: ['list'] }, action: 'deny' }],
  };
  assert.equal(check.Check(good), true);
  assert.equal(check.Check({ ...good, balancer: 'fastest' }), false);
});
