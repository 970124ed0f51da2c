import { parseArgs, type ParseArgsConfig } from 'node:util';
import { dev } from './dev.ts';
import { UsageError } from './errors.ts';
import { explain } from './explain.ts';
import { gatewayApi } from './gateway-api.ts';
import { node } from './node.ts';
import { podlet } from './podlet.ts';
import { serve } from './serve.ts';
import { validate } from './validate.ts';

const USAGE = `usage: kubegate <command> [flags]

commands:
  dev    [--dir D] [--apiservers N] [--nodes N] [--port P] [--gateway-api] [--node-networking]
                                                  a local cluster (control plane, nodes) with kubegate in front
  serve  -f FILE                                  run the gateway from a configuration file (reloaded live)
  podlet --config FILE                            one node of the local cluster (kubegate dev starts these)
  gateway-api --address-pool CIDR [--kubeconfig F] [--admin-address HOST:PORT] [--log-level L]
                                                  the Gateway API controller and data plane
  node --node-name N [--kubeconfig F] [--api-socket S] [--fix-prerequisites] [--health-address HOST:PORT]
       [--metrics-address HOST:PORT] [--log-level L] [--cleanup]
       [--bgp [--cluster-asn N] [--peer-router-ips A,B --peer-router-asns N,M [--peer-router-passwords B64,B64]] [--bgp-port P]
        [--bgp-graceful-restart-time S] [--service-cluster-ip-range CIDR,...]]
                                                  the Service proxy and NetworkPolicy of one node (nftables);
                                                  --bgp: pod routes over an iBGP mesh of the nodes
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
    },
    run: (v) => dev(v),
  },
  serve: { options: { file: { type: 'string', short: 'f' } }, run: (v) => serve(v) },
  podlet: { options: { config: { type: 'string' } }, run: (v) => podlet(v) },
  'gateway-api': {
    options: {
      kubeconfig: { type: 'string' },
      'address-pool': { type: 'string' },
      'admin-address': { type: 'string' },
      'controller-name': { type: 'string' },
      'api-socket': { type: 'string' },
      'log-level': { type: 'string' },
    },
    run: (v) => gatewayApi(v),
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
      'bgp-port': { type: 'string' },
      'bgp-graceful-restart-time': { type: 'string' },
      'service-cluster-ip-range': { type: 'string' },
    },
    run: (v) => node(v),
  },
  validate: { options: { file: { type: 'string', short: 'f' } }, run: (v) => validate(v) },
  explain: {
    options: {
      file: { type: 'string', short: 'f' },
      cluster: { type: 'string' },
      user: { type: 'string' },
      group: { type: 'string', multiple: true },
      'client-ip': { type: 'string' },
    },
    positionals: true,
    run: (v, p) => explain(v, p),
  },
};

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
