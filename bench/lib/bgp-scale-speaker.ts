// The subject "kubegate" of the BGP scale benchmark: kubegate's Speaker in its own process (run in
// the lab's S namespace), originating the service /32s through `announce`, as the routing
// controller does for Service addresses. JSON lines out: `established`, `received` (all of R's
// prefixes are in the Adj-RIB-In), `withdrawn`. Lines in: `{"withdraw": n}`, `{"stop": true}`.
//   argv[2]: { asn, routerId, peerAddress, peerAs, announce, expectReceived }
import { createInterface } from 'node:readline';
import { Speaker } from '../../src/node/bgp/index.ts';
import { servicePrefixes } from './bgp-scale-lab.ts';

const cfg = JSON.parse(process.argv[2]!) as {
  asn: number;
  routerId: string;
  peerAddress: string;
  peerAs: number;
  announce: number;
  expectReceived: number;
};
const out = (o: Record<string, unknown>) =>
  process.stdout.write(JSON.stringify({ ...o, at: Date.now() }) + '\n');

const speaker = new Speaker({
  asn: cfg.asn,
  routerId: cfg.routerId,
  neighbors: [
    {
      peerAddress: cfg.peerAddress,
      peerAs: cfg.peerAs,
      localAddress: cfg.routerId,
      connectRetrySeconds: 1,
      families: ['ipv4-unicast'],
    },
  ],
});
speaker.onEvent((e) => {
  if (e.type === 'state' && e.to === 'established') out({ established: true });
});
const prefixes = servicePrefixes(cfg.announce);
await speaker.start();
for (const p of prefixes) speaker.announce(p);
out({ announced: prefixes.length });

const watch = setInterval(() => {
  const received = speaker.neighbors()[0]?.received ?? 0;
  if (received < cfg.expectReceived) return;
  clearInterval(watch);
  out({ received });
}, 5);

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { withdraw?: number; stop?: boolean };
  if (cmd.withdraw) {
    for (const p of prefixes.slice(0, cmd.withdraw)) speaker.withdraw(p);
    out({ withdrawn: cmd.withdraw });
  } else if (cmd.stop) {
    await speaker.stop();
    process.exit(0);
  }
}
