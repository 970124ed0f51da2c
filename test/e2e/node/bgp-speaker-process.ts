// A CLI-free entry point for the BGP interop tests: runs one Speaker (inside a network namespace,
// via `ip netns exec`), takes commands as JSON lines on stdin and writes events as JSON lines.
//   argv[2]: SpeakerConfig as JSON (plus `installRoutes`: learned routes into this namespace's table), with neighbors' `exportCommunities`, `largeCommunities`,
//            `prepend` and `rejectImport` standing for the policies of the same names.
import { createInterface } from 'node:readline';
import {
  addCommunities,
  chainPolicies,
  parseCommunity,
  prependAsPath,
  rejectPrefixesWithin,
  Speaker,
  type ExportPolicy,
  type NeighborConfig,
} from '../../../src/node/bgp/index.ts';
import { KernelRoutes } from '../../../src/node/bgp/kernel-routes.ts';

interface NeighborJSON extends NeighborConfig {
  exportCommunities?: string[];
  largeCommunities?: [number, number, number][];
  prepend?: number;
  rejectImport?: string[];
}

const raw = JSON.parse(process.argv[2]) as { asn: number; neighbors: NeighborJSON[] } & Record<
  string,
  unknown
>;
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

const neighbors = raw.neighbors.map((n): NeighborConfig => {
  const exports: ExportPolicy[] = [];
  if (n.exportCommunities || n.largeCommunities)
    exports.push(addCommunities((n.exportCommunities ?? []).map(parseCommunity), n.largeCommunities ?? []));
  if (n.prepend) exports.push(prependAsPath(raw.asn, n.prepend));
  return {
    ...n,
    exportPolicy: exports.length ? chainPolicies(...exports) : undefined,
    importPolicy: n.rejectImport ? rejectPrefixesWithin(n.rejectImport) : undefined,
  };
});

const kernel = raw.installRoutes ? new KernelRoutes({ log: (e) => out({ event: e }) }) : undefined;
await kernel?.start(raw.restarting === true);
const speaker = new Speaker({ ...(raw as unknown as ConstructorParameters<typeof Speaker>[0]), neighbors });
speaker.onEvent((e) => out({ event: e }));
if (kernel) speaker.locRib.onChange((c) => kernel.apply(c));
// Routes kept from before a graceful restart go once every neighbor has sent End-of-RIB for each family.
const endOfRib = new Set<string>();
speaker.onEvent((e) => {
  if (e.type !== 'end-of-rib') return;
  endOfRib.add(`${e.peer} ${e.family}`);
  if (endOfRib.size >= neighbors.reduce((n, x) => n + (x.families?.length ?? 1), 0)) kernel?.sweep();
});
speaker.locRib.onChange((c) =>
  out({ event: { type: 'route', prefix: c.prefix, nextHops: c.ecmp.map((r) => r.nextHop), best: c.best } }),
);
await speaker.start();
out({ ready: true });

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as Record<string, unknown>;
  if (typeof cmd.announce === 'string') speaker.announce(cmd.announce);
  else if (typeof cmd.withdraw === 'string') speaker.withdraw(cmd.withdraw);
  else if (cmd.kernelIdle) {
    await kernel?.idle();
    out({ kernelIdle: true });
  } else if (cmd.neighbors) out({ neighbors: speaker.neighbors() });
  else if (cmd.rib)
    out({
      rib: [...speaker.locRib.selected()].map((c) => ({
        prefix: c.prefix,
        nextHops: c.ecmp.map((r) => r.nextHop),
        attributes: c.best?.attributes,
      })),
    });
  else if (cmd.stop) {
    await speaker.stop({ graceful: (cmd.stop as { graceful?: boolean }).graceful });
    out({ stopped: true });
    process.exit(0);
  }
}
