// A RoutingController as `kubegate node --bgp` runs it, in the network namespace it is started in,
// fed by the test instead of informers: stdin takes JSON lines `{"nodes": [...]}` and
// `{"services": [...], "slices": [...]}` (as the informers would deliver them) and `{"dump": true}`;
// stdout gets the controller's events and the dumps as JSON lines. Options come from $OPTIONS
// (the fields of routingOptions), the node from $NODE_NAME. SIGTERM stops it with a Cease.
import { createInterface } from 'node:readline';
import { RoutingController, routingOptions } from '../../../src/node/bgp/controller/index.ts';

const c = new RoutingController({
  nodeName: process.env.NODE_NAME ?? '',
  options: routingOptions(JSON.parse(process.env.OPTIONS ?? '{}') as Parameters<typeof routingOptions>[0]),
  log: (e) => console.log(JSON.stringify(e)),
  onProblems: (problems) => {
    if (problems.length) console.log(JSON.stringify({ type: 'problems', problems }));
  },
});

process.on('SIGTERM', () => void c.stop({ graceful: false }).then(() => process.exit(0)));

for await (const line of createInterface({ input: process.stdin })) {
  const m = JSON.parse(line) as { nodes?: never[]; services?: never[]; slices?: never[]; dump?: boolean };
  if (m.nodes) await c.update(m.nodes);
  if (m.services) await c.updateServices(m.services, m.slices ?? []);
  if (m.dump) {
    const s = c.speaker;
    const neighbors = s?.neighbors() ?? [];
    const received = Object.fromEntries(neighbors.map((n) => [n.address, s?.received(n.address) ?? []]));
    console.log(JSON.stringify({ type: 'dump', neighbors, received }));
  }
}
