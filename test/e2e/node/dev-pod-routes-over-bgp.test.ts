import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { devDir, kubectl } from '../env.ts';

const run = promisify(execFile);

interface State {
  nodes: { name: string; internalIP: string; netns: string }[];
  lab: { underlayNetns: string };
  podRoutes: 'bgp' | 'static' | null;
}

/** Each destination a namespace routes, with its protocol (`ip route` prints `proto X` unless it is boot). */
async function routes(netns: string): Promise<Map<string, string>> {
  const { stdout } = await run('ip', ['-n', netns, '-4', '-d', 'route', 'show'], { timeout: 10_000 });
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === '' || words[0] === undefined) continue;
    const dest = words[0] === 'unicast' ? words[1] : words[0];
    const at = words.indexOf('proto');
    out.set(dest, at >= 0 ? words[at + 1] : 'boot');
  }
  return out;
}

// Issue 22: with `--node-networking`, the dev cluster's pod routes come from BGP only. Every other
// e2e test on this cluster (pod to pod across nodes, the upstream Services and NetworkPolicy
// suites, the Gateway API conformance suite) then runs over them; this one checks that no static
// route is left to carry that traffic.
test('the dev cluster routes every podCIDR over BGP: on the underlay and on every other node, no static route', async () => {
  const state = JSON.parse(readFileSync(join(devDir(), 'state.json'), 'utf8')) as State;
  assert.equal(state.podRoutes, 'bgp');
  const cidrs = new Map(
    (
      await kubectl('apiserver-0.kubeconfig', [
        'get',
        'nodes',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.spec.podCIDR}{"\\n"}{end}',
      ])
    )
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => l.split('=') as [string, string]),
  );
  const ours = state.nodes.map((n) => n.name);
  assert.ok(ours.length >= 2, 'two nodes at least');
  const underlay = await routes(state.lab.underlayNetns);
  for (const name of ours) {
    const cidr = cidrs.get(name);
    assert.ok(cidr, `${name} has a podCIDR`);
    assert.equal(underlay.get(cidr), '196', `the underlay routes ${name}'s ${cidr} by BGP (proto 196)`);
  }
  for (const n of state.nodes) {
    const own = await routes(n.netns);
    for (const name of ours.filter((x) => x !== n.name))
      assert.equal(own.get(cidrs.get(name)!), '196', `${n.name} routes ${name}'s podCIDR by BGP`);
  }
  const log = readFileSync(join(devDir(), 'logs', 'underlay-router.log'), 'utf8');
  assert.match(log, /"type":"underlay-router"/);
});
