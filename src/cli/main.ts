import { parseArgs, type ParseArgsConfig } from 'node:util';
import { enableKubegateCompileCache, flushKubegateCompileCache } from './compile-cache.ts';
import { UsageError } from './errors.ts';

// Before any command module is loaded: what they import is then read from the cache (compiled code
// and TypeScript already stripped) instead of being parsed again at every start.
enableKubegateCompileCache();

const USAGE = `usage: kubegate <command> [flags]

commands:
  dev    [--dir D] [--apiservers N] [--nodes N] [--port P] [--gateway-api] [--node-networking [--static-pod-routes]]
                                                  a local cluster (control plane, nodes) with kubegate in front;
                                                  --node-networking routes pods over BGP unless --static-pod-routes
  serve  -f FILE                                  run the gateway from a configuration file (reloaded live)
  podlet --config FILE                            one node of the local cluster (kubegate dev starts these)
  gateway-api --address-pool CIDR [--kubeconfig F] [--admin-address HOST:PORT] [--log-level L]
                                                  the Gateway API controller and data plane
  node --node-name N [--kubeconfig F] [--api-socket S] [--fix-prerequisites] [--health-address HOST:PORT]
       [--metrics-address HOST:PORT] [--log-level L] [--cleanup]
       [--bgp [--cluster-asn N] [--peer-router-ips A,B --peer-router-asns N,M [--peer-router-passwords B64,B64] [--peer-router-ports P,Q]] [--bgp-port P]
        [--bgp-graceful-restart-time S] [--service-cluster-ip-range CIDR,...]
        [--advertise-cluster-ip] [--advertise-external-ip] [--advertise-loadbalancer-ip]
        [--advertise-service-cluster-ip-range CIDR,...]]
                                                  the Service proxy and NetworkPolicy of one node (nftables);
                                                  --bgp: pod routes over an iBGP mesh of the nodes,
                                                  Service addresses to the peer routers
  dns    [--listen HOST:PORT] [--cluster-domain D] [--kubeconfig F] [--api-socket S] [--metrics-address HOST:PORT]
                                                  cluster DNS (Services, EndpointSlices) over UDP and TCP
  validate -f FILE                                check a GatewayConfiguration or UpstreamCluster file;
                                                  prints every problem with its field path
  explain -f FILE [--cluster C] --user U [--group G]... [--client-ip IP] METHOD PATH
                                                  which rule a request hits, and why earlier ones did not
`;

const COMMANDS: Record<
  string,
  {
    options: ParseArgsConfig['options'];
    positionals?: boolean;
    run: (v: Record<string, unknown>, positionals: string[]) => Promise<number>;
  }
> = {
  dev: {
    options: {
      dir: { type: 'string' },
      apiservers: { type: 'string' },
      nodes: { type: 'string' },
      port: { type: 'string' },
      'gateway-api': { type: 'boolean' },
      'node-networking': { type: 'boolean' },
      'static-pod-routes': { type: 'boolean' },
    },
    run: async (v) => (await command(import('./dev.ts'))).dev(v),
  },
  serve: {
    options: { file: { type: 'string', short: 'f' } },
    run: async (v) => (await command(import('./serve.ts'))).serve(v),
  },
  podlet: {
    options: { config: { type: 'string' } },
    run: async (v) => (await command(import('./podlet.ts'))).podlet(v),
  },
  'gateway-api': {
    options: {
      kubeconfig: { type: 'string' },
      'address-pool': { type: 'string' },
      'admin-address': { type: 'string' },
      'controller-name': { type: 'string' },
      'api-socket': { type: 'string' },
      'log-level': { type: 'string' },
    },
    run: async (v) => (await command(import('./gateway-api.ts'))).gatewayApi(v),
  },
  node: {
    options: {
      kubeconfig: { type: 'string' },
      'api-socket': { type: 'string' },
      'node-name': { type: 'string' },
      cleanup: { type: 'boolean' },
      'health-address': { type: 'string' },
      'metrics-address': { type: 'string' },
      'fix-prerequisites': { type: 'boolean' },
      'log-level': { type: 'string' },
      bgp: { type: 'boolean' },
      'cluster-asn': { type: 'string' },
      'peer-router-ips': { type: 'string' },
      'peer-router-asns': { type: 'string' },
      'peer-router-passwords': { type: 'string' },
      'peer-router-ports': { type: 'string' },
      'bgp-port': { type: 'string' },
      'bgp-graceful-restart-time': { type: 'string' },
      'service-cluster-ip-range': { type: 'string' },
      'advertise-cluster-ip': { type: 'boolean' },
      'advertise-external-ip': { type: 'boolean' },
      'advertise-loadbalancer-ip': { type: 'boolean' },
      'advertise-service-cluster-ip-range': { type: 'string' },
    },
    run: async (v) => (await command(import('./node.ts'))).node(v),
  },
  dns: {
    options: {
      listen: { type: 'string' },
      'cluster-domain': { type: 'string' },
      kubeconfig: { type: 'string' },
      'api-socket': { type: 'string' },
      'metrics-address': { type: 'string' },
      'log-level': { type: 'string' },
    },
    run: async (v) => (await command(import('./dns.ts'))).dns(v),
  },
  validate: {
    options: { file: { type: 'string', short: 'f' } },
    run: async (v) => (await command(import('./validate.ts'))).validate(v),
  },
  explain: {
    options: {
      file: { type: 'string', short: 'f' },
      cluster: { type: 'string' },
      user: { type: 'string' },
      group: { type: 'string', multiple: true },
      'client-ip': { type: 'string' },
    },
    positionals: true,
    run: async (v, p) => (await command(import('./explain.ts'))).explain(v, p),
  },
};

/**
 * A command's module, loaded only when that command runs (`kubegate node` does not load the gateway,
 * Gateway API or the podlet); what it loaded is written to the compile cache right away, since a
 * long-running command may never exit cleanly.
 */
async function command<M>(loading: Promise<M>): Promise<M> {
  const m = await loading;
  flushKubegateCompileCache();
  return m;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) throw new UsageError(`unknown command "${name}" (known: ${Object.keys(COMMANDS).join(', ')})`);
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: cmd.options,
      strict: true,
      allowPositionals: cmd.positionals === true,
    }));
  } catch (err) {
    throw new UsageError(`${name}: ${(err as Error).message.split('\n')[0]}`);
  }
  return cmd.run(values, positionals);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`kubegate: error: ${err.message}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
