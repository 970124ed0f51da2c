import type { RunOptions } from './args.ts';
import { netnsPath, type DevLab } from './dev-state.ts';

/** The top-level Go test in conformance_test.go. */
export const SUITE_TEST = 'TestGatewayAPIConformance';

/** Everything the test binary's command line is made of, besides the run's options. */
export interface SuitePaths {
  readonly binary: string;
  readonly supportedFeatures: string;
  /** `-version` in the report: kubegate's version. */
  readonly version: string;
  /** Absolute; the report is written only when set. */
  readonly report?: string;
}

/** A process to start: argv[0] is the program. */
export interface SuiteCommand {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

// GatewayStaticAddresses: a Gateway asks for these in spec.addresses. The usable one is the last
// address of the dev lab's pool (10.250.2.0/24, src/dev/lab/constants.ts), which Gateways without
// spec.addresses (given the lowest free ones) never reach in a run; the unusable one is outside it.
const USABLE_ADDRESS = '10.250.2.254';
const UNUSABLE_ADDRESS = '10.250.3.1';

// The Kubernetes clients would send to a proxy from the environment; nothing here goes through one.
const PROXY_ENV = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY'];

/**
 * The test binary, run inside the lab's underlay network namespace (nsenter: no mount namespace,
 * unlike `ip netns exec`), told where the root namespace is so that its Kubernetes clients reach
 * the API server there (KUBEGATE_ROOT_NETNS, a path that stays valid while `rootPid` lives).
 */
export function suiteCommand(
  opts: RunOptions,
  lab: DevLab,
  paths: SuitePaths,
  rootPid: number,
  env: NodeJS.ProcessEnv,
): SuiteCommand {
  const args = [
    `-test.run=^${SUITE_TEST}$`,
    '-test.v',
    `-test.timeout=${opts.timeoutMinutes}m`,
    `-test.parallel=${opts.parallel}`,
    `-kubeconfig=${lab.kubeconfig}`,
    `-supported-features-file=${paths.supportedFeatures}`,
    `-gateway-class=${opts.gatewayClass}`,
    `-version=${paths.version}`,
    `-conformance-profiles=${opts.profiles.join(',')}`,
    `-usable-address=${USABLE_ADDRESS}`,
    `-unusable-address=${UNUSABLE_ADDRESS}`,
  ];
  if (paths.report) args.push(`-report-output=${paths.report}`);
  if (opts.runTest) args.push(`-run-test=${opts.runTest}`);
  if (opts.debug) args.push('-debug');
  args.push(...opts.extra);

  const childEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (!PROXY_ENV.includes(k.toUpperCase())) childEnv[k] = v;
  }
  childEnv.KUBEGATE_ROOT_NETNS = `/proc/${rootPid}/ns/net`;
  return {
    argv: ['nsenter', `--net=${netnsPath(lab.underlayNetns)}`, '--', paths.binary, ...args],
    env: childEnv,
  };
}
