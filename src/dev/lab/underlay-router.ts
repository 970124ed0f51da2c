// The lab underlay's router, run in the underlay namespace by `kubegate dev --node-networking`
// (`node underlay-router.ts '<json>'`): a BGP speaker peering with every node, as a top-of-rack
// router peers with kube-router, that installs the pod CIDRs the nodes announce in the underlay's
// routing table. The underlay then needs no static route per node, and whatever sits on it (the
// Gateway API host) reaches pods over what the nodes announced. It announces nothing itself.
import { KernelRoutes } from '../../node/bgp/kernel-routes.ts';
import { Speaker } from '../../node/bgp/speaker.ts';

export interface UnderlayRouterConfig {
  readonly asn: number;
  /** Its address on the underlay: router id, listening and connecting address. */
  readonly address: string;
  readonly port: number;
  readonly neighbors: readonly { readonly address: string; readonly asn: number }[];
}

async function main(cfg: UnderlayRouterConfig): Promise<void> {
  const log = (e: Record<string, unknown>): void => console.log(JSON.stringify({ time: Date.now(), ...e }));
  const kernel = new KernelRoutes({ log });
  await kernel.start(false);
  const speaker = new Speaker({
    asn: cfg.asn,
    routerId: cfg.address,
    listen: { address: cfg.address, port: cfg.port },
    neighbors: cfg.neighbors.map((n) => ({
      peerAddress: n.address,
      peerAs: n.asn,
      port: cfg.port,
      localAddress: cfg.address,
      families: ['ipv4-unicast'],
      connectRetrySeconds: 1,
      exportPolicy: () => undefined,
    })),
    log,
  });
  speaker.locRib.onChange((c) => kernel.apply(c));
  await speaker.start();
  log({ type: 'underlay-router', asn: cfg.asn, neighbors: cfg.neighbors.map((n) => n.address) });
  const stop = (): void => {
    void speaker.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.main) await main(JSON.parse(process.argv[2] ?? '{}') as UnderlayRouterConfig);
