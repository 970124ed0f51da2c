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
  /** A prebuilt test binary instead of `tools/conformance/provide.sh`'s. */
  readonly binary?: string;
  /** Passed to the test binary as they are (after `--`), e.g. `-skip-tests=A,B`. */
  readonly extra: readonly string[];
}

export const USAGE = `usage: node tools/conformance/run.ts --dev-dir <dir> [--report <file.yaml>] [--log <file>]
         [--run-test <ShortName>] [--parallel N] [--timeout <minutes>] [--gateway-class <name>]
         [--debug] [--binary <path>] [-- <suite flags>…]`;

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
    binary: values.binary,
    extra,
  };
}
