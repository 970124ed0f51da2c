// Golden cases: testdata/<case>.in.yaml (Services, EndpointSlices and a ProxyConfig naming the node)
// → testdata/<case>.out.yaml (the whole output: tables, problems, UDP destinations, health checks).
// KUBEGATE_UPDATE_GOLDEN=1 rewrites the .out.yaml files; review the diff by eye.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { format, resolveConfig } from 'prettier';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { serviceProxyTables, type ServiceProxyInput } from '../../../../src/node/service/index.ts';

const UPDATE = process.env.KUBEGATE_UPDATE_GOLDEN === '1';
const TESTDATA = new URL('./testdata/', import.meta.url);

function caseNames(): string[] {
  return readdirSync(TESTDATA)
    .filter((f) => f.endsWith('.in.yaml'))
    .map((f) => f.slice(0, -'.in.yaml'.length))
    .sort();
}

type Mutable = {
  -readonly [K in keyof ServiceProxyInput]: ServiceProxyInput[K] extends readonly (infer T)[]
    ? T[]
    : ServiceProxyInput[K];
};

function loadInput(name: string): ServiceProxyInput {
  const input: Mutable = {
    nodeName: 'node-1',
    nodeIPs: [],
    clusterCIDRs: [],
    services: [],
    endpointSlices: [],
  };
  for (const doc of parseAllDocuments(readFileSync(new URL(`${name}.in.yaml`, TESTDATA), 'utf8'))) {
    const obj = doc.toJS() as Record<string, unknown> | null;
    if (obj === null) continue;
    if (obj.kind === 'ProxyConfig') {
      if (typeof obj.nodeName === 'string') input.nodeName = obj.nodeName;
      if (Array.isArray(obj.nodeIPs)) input.nodeIPs = obj.nodeIPs as string[];
      if (Array.isArray(obj.clusterCIDRs)) input.clusterCIDRs = obj.clusterCIDRs as string[];
    } else if (obj.kind === 'Service') input.services.push(obj as never);
    else if (obj.kind === 'EndpointSlice') input.endpointSlices.push(obj as never);
    else throw new Error(`${name}.in.yaml: unknown kind ${String(obj.kind)}`);
  }
  return input;
}

test('there are at least 10 golden cases', () => {
  assert.ok(caseNames().length >= 10, `only ${caseNames().length} cases`);
});

for (const name of caseNames()) {
  test(`the Service proxy gives the reviewed tables for ${name}`, async () => {
    const output = serviceProxyTables(loadInput(name));
    const file = new URL(`${name}.out.yaml`, TESTDATA);
    const text = stringify(output, { lineWidth: 0, aliasDuplicateObjects: false });
    if (UPDATE) writeFileSync(file, await format(text, { ...(await resolveConfig(file)), parser: 'yaml' }));
    assert.ok(existsSync(file), `no ${name}.out.yaml: run with KUBEGATE_UPDATE_GOLDEN=1 and review it`);
    assert.deepEqual(JSON.parse(JSON.stringify(output)), parse(readFileSync(file, 'utf8')));
  });

  test(`the Service proxy output for ${name} does not depend on object order`, () => {
    const input = loadInput(name);
    const reversed = {
      ...input,
      services: [...input.services].reverse(),
      endpointSlices: [...input.endpointSlices].reverse(),
    };
    assert.deepEqual(serviceProxyTables(reversed), serviceProxyTables(input));
  });
}
