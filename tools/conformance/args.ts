import { parseArgs } from 'node:util';

/** A command-line mistake: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What `node tools/conformance/run.ts` was asked to do. */
export interface RunOptions {
  /** The `kubegate dev --gateway-api --dir` folder: state.json and gateway.kubeconfig. */
  readonly devDir: string;
  /** Where the suite writes its ConformanceReport (YAML), if anywhere. */
  readonly report?: string;
  /** The full `go test -v` output; default `<devDir>/conformance.log`. */
  readonly log?: string;
  /** One conformance test (its ShortName) instead of the whole suite. */
  readonly runTest?: string;
  /** Tests that may run at once (`-test.parallel`). */
  readonly parallel: number;
  /** `-test.timeout`, in minutes; the whole run is bounded a little above it. */
  readonly timeoutMinutes: number;
  readonly gatewayClass: string;
  readonly debug: boolean;
  /** The conformance profiles to run and report (`-conformance-profiles`). */
  readonly profiles: readonly string[];
  /** A prebuilt test binary instead of `tools/conformance/provide.sh`'s. */
  readonly binary?: string;
  /** Passed to the test binary as they are (after `--`), e.g. `-skip-tests=A,B`. */
  readonly extra: readonly string[];
}

export const USAGE = `usage: node tools/conformance/run.ts --dev-dir <dir> [--report <file.yaml>] [--log <file>]
         [--run-test <ShortName>] [--parallel N] [--timeout <minutes>] [--gateway-class <name>]
         [--profiles GATEWAY-HTTP,GATEWAY-TLS,…] [--debug] [--binary <path>] [-- <suite flags>…]`;

/** The profiles kubegate claims, run by default. */
export const DEFAULT_PROFILES: readonly string[] = [
  'GATEWAY-HTTP',
  'GATEWAY-TLS',
  'GATEWAY-TCP',
  'GATEWAY-UDP',
  'GATEWAY-GRPC',
];

const KNOWN_PROFILES = [...DEFAULT_PROFILES, 'MESH-HTTP', 'MESH-GRPC'];

function profiles(v: string | undefined): string[] {
  if (v === undefined) return [...DEFAULT_PROFILES];
  const names = v.split(',').map((p) => p.trim());
  const unknown = names.find((p) => !KNOWN_PROFILES.includes(p));
  if (unknown !== undefined)
    throw new UsageError(
      `--profiles: unknown profile ${JSON.stringify(unknown)}; known: ${KNOWN_PROFILES.join(', ')}`,
    );
  return names;
}

function positiveInt(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Parses run.ts's arguments (without node and the script). */
export function parseRunArgs(argv: readonly string[]): RunOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'dev-dir': { type: 'string' },
        report: { type: 'string' },
        log: { type: 'string' },
        'run-test': { type: 'string' },
        parallel: { type: 'string' },
        timeout: { type: 'string' },
        'gateway-class': { type: 'string' },
        debug: { type: 'boolean' },
        profiles: { type: 'string' },
        binary: { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  // parseArgs keeps what follows `--` as positionals; anything else positional is a mistake.
  const dashDash = argv.indexOf('--');
  const extra = dashDash === -1 ? [] : argv.slice(dashDash + 1);
  if (positionals.length !== extra.length)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!values['dev-dir']) throw new UsageError('--dev-dir is required');
  return {
    devDir: values['dev-dir'],
    report: values.report,
    log: values.log,
    runTest: values['run-test'],
    parallel: positiveInt('parallel', values.parallel, 20),
    timeoutMinutes: positiveInt('timeout', values.timeout, 30),
    gatewayClass: values['gateway-class'] ?? 'kubegate',
    debug: values.debug ?? false,
    profiles: profiles(values.profiles),
    binary: values.binary,
    extra,
  };
}
