// node tools/e2e-suites/run.ts --dev-dir <dir> [--suite netpol|services] [--procs N] [--focus RE]
//                              [--report FILE] [--log FILE] [--timeout-minutes M]
// Runs the upstream Kubernetes network e2e suite (tools/e2e-suites/provide.sh builds it) against a
// running `kubegate dev --dir <dir>`: the NetworkPolicy cases (every one but SCTP's) or the
// Services cases that need only ClusterIP/NodePort reachability. With --procs > 1 the specs are
// spread over that many processes by the ginkgo CLI, as upstream CI does.
// stdout gets each spec's result and a summary line; the full output goes to the log.
// Exit code: 0 only if no spec failed; 2 usage, 1 otherwise.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  SUITES,
  frameworkFlags,
  ginkgoFlags,
  specResults,
  summarize,
  type GinkgoReport,
  type SuiteName,
} from './suite.ts';

const HERE = import.meta.dirname;

export class SuiteRunError extends Error {
  override name = 'SuiteRunError';
  readonly code = 'SuiteRunFailed';
}

async function provide(): Promise<string> {
  // stderr passes through: a first build reports its progress for several minutes.
  const child = spawn(join(HERE, 'provide.sh'), [], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((done) => child.once('close', done));
  if (code !== 0) throw new SuiteRunError(`tools/e2e-suites/provide.sh failed (exit ${code})`);
  return out.trim();
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      'dev-dir': { type: 'string' },
      suite: { type: 'string', default: 'netpol' },
      procs: { type: 'string', default: '1' },
      focus: { type: 'string' },
      report: { type: 'string' },
      log: { type: 'string' },
      kubectl: { type: 'string' },
      'timeout-minutes': { type: 'string', default: '60' },
    },
  });
  const suite = v.suite as SuiteName;
  const procs = Number(v.procs);
  const minutes = Number(v['timeout-minutes']);
  if (!v['dev-dir'] || !(suite in SUITES) || !Number.isInteger(procs) || procs < 1 || !(minutes > 0)) {
    process.stderr.write(
      'usage: node tools/e2e-suites/run.ts --dev-dir DIR [--suite netpol|services] [--procs N] [--focus RE] [--report FILE] [--log FILE] [--timeout-minutes M]\n',
    );
    return 2;
  }
  const devDir = resolve(v['dev-dir']);
  const bin = await provide();
  const work = await mkdtemp(join(tmpdir(), 'kubegate-e2e-suite-'));
  try {
    const report = resolve(v.report ?? join(work, 'report.json'));
    await rm(report, { force: true });
    const o = { suite, devDir, workDir: work, focus: v.focus, kubectl: v.kubectl };
    const ginkgo = [...ginkgoFlags(o), `--timeout=${minutes}m`];
    // The ginkgo CLI puts a report named by a path under the suite's folder; --output-dir places it.
    const reportFlags =
      procs > 1
        ? [`--output-dir=${dirname(report)}`, `--json-report=${basename(report)}`]
        : [`--json-report=${report}`];
    // The ginkgo CLI runs the compiled suite in N processes and merges their reports; one process
    // needs no CLI (the test binary takes Ginkgo's flags with a `ginkgo.` prefix).
    const argv =
      procs > 1
        ? [
            join(bin, 'ginkgo'),
            `--procs=${procs}`,
            ...ginkgo,
            ...reportFlags,
            join(bin, 'e2e-network.test'),
            '--',
            ...frameworkFlags(o),
          ]
        : [
            join(bin, 'e2e-network.test'),
            ...[...ginkgo, ...reportFlags].map((f) => f.replace(/^--/, '--ginkgo.')),
            ...frameworkFlags(o),
          ];
    const logPath = resolve(v.log ?? join(devDir, `e2e-${suite}.log`));
    const log = createWriteStream(logPath);
    log.write(`# ${argv.join(' ')}\n`);
    process.stdout.write(
      `e2e-suites: running the ${suite} cases with ${procs} process(es); log: ${logPath}\n`,
    );
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const bound = setTimeout(() => child.kill('SIGKILL'), (minutes + 2) * 60_000);
    const onSignal = () => child.kill('SIGINT');
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const code = await new Promise<number | null>((done) => child.once('close', done));
    clearTimeout(bound);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await new Promise<void>((done) => log.end(done));
    const parsed = JSON.parse(await readFile(report, 'utf8').catch(() => '[]')) as GinkgoReport[];
    const results = specResults(parsed);
    for (const r of results)
      if (r.state !== 'skipped')
        process.stdout.write(
          `${r.state.toUpperCase()} ${r.name} (${r.seconds.toFixed(0)}s)${r.reason ? `: ${r.reason}` : ''}\n`,
        );
    const s = summarize(results);
    process.stdout.write(
      `e2e-suites: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped (exit ${code})\n`,
    );
    if (results.length === 0) return 1;
    return s.failed === 0 && code === 0 ? 0 : 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.main) process.exitCode = await main();
