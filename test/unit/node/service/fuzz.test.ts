// No input crashes the Service proxy, and whatever it emits stays well-formed nft: golden inputs
// with random fields replaced by wrong types and out-of-range values (seeded, reproducible).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { serviceProxyTables } from '../../../../src/node/service/index.ts';

const TESTDATA = new URL('./testdata/', import.meta.url);
const GARBAGE: unknown[] = [
  null,
  -1,
  0,
  70000,
  1.5,
  '',
  'x',
  '999.1.1.1',
  '10.0.0.0/99',
  {},
  [],
  [null],
  true,
  'SCTP',
];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function mutate(v: unknown, r: () => number, top = false): unknown {
  if (!top && r() < 0.08) return GARBAGE[Math.floor(r() * GARBAGE.length)];
  if (Array.isArray(v)) return v.map((x) => mutate(x, r));
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'kind' ? x : mutate(x, r)]));
  return v;
}

const objects = readdirSync(TESTDATA)
  .filter((f) => f.endsWith('.in.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(new URL(f, TESTDATA), 'utf8')).map(
      (d) => d.toJS() as Record<string, unknown>,
    ),
  )
  .filter((o) => o && o.kind !== 'ProxyConfig');

const ELEMENT = /^[0-9a-f.:]+ \. (tcp|udp) \. \d{1,5}( \. \d+)?$/;

test('500 mutated inputs: no throw, and every map key is ADDRESS . PROTO . PORT', () => {
  for (let seed = 1; seed <= 500; seed++) {
    const r = rng(seed);
    const mutated = objects.map((o) => mutate(o, r, true) as Record<string, unknown>);
    const out = serviceProxyTables({
      nodeName: 'node-1',
      nodeIPs: mutate(['10.250.0.11', 'fd00::11'], r) as string[],
      clusterCIDRs: mutate(['10.244.1.0/24'], r) as string[],
      services: mutated.filter((o) => o.kind === 'Service') as never,
      endpointSlices: mutated.filter((o) => o.kind === 'EndpointSlice') as never,
    });
    for (const t of out.tables)
      for (const s of t.sets) {
        if (!['service-ips', 'no-endpoint-services', 'endpoints-tcp', 'endpoints-udp'].includes(s.name))
          continue;
        for (const e of s.elements as (readonly [string, string])[]) {
          assert.match(e[0], ELEMENT, `seed ${seed}: ${s.name} key ${e[0]}`);
          const [addr] = e[0].split(' . ');
          assert.ok(isIP(addr!), `seed ${seed}: ${addr}`);
        }
      }
  }
});
