// node tools/conformance/run.ts --dev-dir <dir> [--report conformance/reports/<file>.yaml] …
// Runs the official Gateway API conformance suite (tools/conformance/provide.sh builds it) against
// a running `kubegate dev --gateway-api --dir <dir>`, inside the lab's underlay network namespace.
// The full output goes to a log file; stdout gets each conformance test's result and a summary.
// Exit code: the test binary's (0 only if every test it ran passed); 2 usage, 124 timeout, 130 Ctrl-C.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseRunArgs, USAGE, UsageError, type RunOptions } from './args.ts';
import { DevStateError, readDevLab } from './dev-state.ts';
import { GoTestResults } from './go-test-output.ts';
import { SUITE_TEST, suiteCommand } from './suite-command.ts';

const REPO = resolve(import.meta.dirname, '../..');
/** After SIGTERM/SIGINT, how long the suite gets before SIGKILL. */
const KILL_GRACE_MS = 10_000;
/** The run's bound beyond -test.timeout: the binary's own timeout panics first. */
const BOUND_SLACK_MS = 2 * 60_000;

/** The conformance binary could not be provided or started. */
export class SuiteStartError extends Error {
  override name = 'SuiteStartError';
}

function say(m: string): void {
  process.stdout.write(`conformance: ${m}\n`);
}

async function provideBinary(): Promise<string> {
  // stderr passes through: a first build reports its progress for several minutes.
  const child = spawn(join(REPO, 'tools/conformance/provide.sh'), [], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((done) => {
    child.once('error', () => done(null));
    child.once('close', done);
  });
  if (code !== 0) throw new SuiteStartError(`tools/conformance/provide.sh failed (exit ${code})`);
  return out.trim();
}

async function kubegateVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  return `v${pkg.version}`;
}

async function run(opts: RunOptions): Promise<number> {
  const lab = await readDevLab(opts.devDir);
  if (process.getuid?.() !== 0) throw new SuiteStartError('entering the lab network namespace needs root');
  const binary = opts.binary ? resolve(opts.binary) : await provideBinary();
  if (!existsSync(binary)) throw new SuiteStartError(`no test binary at ${binary}`);
  const report = opts.report ? resolve(opts.report) : undefined;
  if (report) {
    await mkdir(dirname(report), { recursive: true });
    await rm(report, { force: true }); // a failed run must not leave an older report looking new
  }
  const logPath = resolve(opts.log ?? join(opts.devDir, 'conformance.log'));
  await mkdir(dirname(logPath), { recursive: true });

  const cmd = suiteCommand(
    opts,
    lab,
    {
      binary,
      supportedFeatures: join(REPO, 'src/gatewayapi/supported-features.json'),
      version: await kubegateVersion(),
      report,
    },
    process.pid,
    process.env,
  );
  // setpriv --pdeathsig: the suite dies with this process, even if it is SIGKILLed.
  const argv = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', ...cmd.argv]
    : [...cmd.argv];
  say(`running ${binary} in network namespace ${lab.underlayNetns}; log: ${logPath}`);
  const log = createWriteStream(logPath);
  log.write(`# ${argv.join(' ')}\n`);
  const child = spawn(argv[0], argv.slice(1), { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });

  const results = new GoTestResults(SUITE_TEST);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
    const done = results.add(line);
    if (done && done.result !== 'SKIP') say(`${done.result} ${done.name} (${done.seconds}s)`);
  });
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => results.addStderr(line));

  let stopReason: 'timeout' | 'interrupt' | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (reason: 'timeout' | 'interrupt', signal: NodeJS.Signals) => {
    if (stopReason) return;
    stopReason = reason;
    child.kill(signal);
    killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  };
  const bound = setTimeout(() => stop('timeout', 'SIGTERM'), opts.timeoutMinutes * 60_000 + BOUND_SLACK_MS);
  const onSignal = () => stop('interrupt', 'SIGINT');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
    child.once('error', (err) => fail(new SuiteStartError(`could not start ${argv[0]}: ${err.message}`)));
    child.once('close', (c, s) => done([c, s]));
  });
  clearTimeout(bound);
  clearTimeout(killTimer);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await new Promise<void>((done) => log.end(done));
  results.finish();

  say(results.summary());
  if (results.topResult === 'FAIL' && results.named('FAIL').length === 0) {
    // The suite failed outside any one test (setup: GatewayClass not accepted, base manifests…).
    for (const e of results.topErrors) process.stdout.write(e.replace(/^/gm, '  | ') + '\n');
  }
  if (report && existsSync(report)) say(`report: ${report}`);
  say(`log: ${logPath}`);
  if (stopReason === 'timeout') {
    say(`timed out after ${opts.timeoutMinutes} min (+ ${BOUND_SLACK_MS / 60_000} min)`);
    return 124;
  }
  if (stopReason === 'interrupt') return 130;
  if (results.timedOut) say(`the suite's -test.timeout (${opts.timeoutMinutes}m) expired`);
  if (code !== null) return code;
  return 128 + (signal ? constants.signals[signal] : 0);
}

async function main(): Promise<void> {
  let opts: RunOptions;
  try {
    opts = parseRunArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`conformance: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  try {
    process.exitCode = await run(opts);
  } catch (err) {
    if (!(err instanceof DevStateError || err instanceof SuiteStartError)) throw err;
    process.stderr.write(`conformance: ${err.message}\n`);
    process.exitCode = 1;
  }
}

await main();
