// The upstream Kubernetes network e2e suites (tools/e2e-suites) against this run's cluster.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { devDir, kubectlPath } from '../env.ts';

const RUN = fileURLToPath(new URL('../../../tools/e2e-suites/run.ts', import.meta.url));
/** Ginkgo processes: the suite's specs each make their own namespaces, so they run side by side. */
const PROCS = '3';

/** Runs one upstream suite against this run's cluster A; fails with the failed specs named. */
export async function runSuite(suite: 'netpol' | 'services', minutes: number): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), `kubegate-e2e-${suite}-`));
  after(() => rm(out, { recursive: true, force: true }));
  const log = join(out, 'suite.log');
  const child = spawn(
    process.execPath,
    [RUN, '--dev-dir', devDir(), '--suite', suite, '--procs', PROCS, '--kubectl', kubectlPath(),
      '--timeout-minutes', String(minutes), '--log', log], // prettier-ignore
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr.on('data', (c: Buffer) => (text += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', r));
  const summary = /^e2e-suites: (\d+) passed, (\d+) failed.*$/m.exec(text);
  const failed = text.split('\n').filter((l) => l.startsWith('FAILED '));
  assert.equal(
    code,
    0,
    `upstream ${suite} e2e failed (${summary?.[0] ?? 'no summary'}):\n${failed.join('\n')}\n${text.slice(-3000)}\n` +
      (await readFile(log, 'utf8').then(
        (l) => l.slice(-6000),
        () => '',
      )),
  );
  assert.ok(summary && Number(summary[1]) > 0, `some ${suite} specs ran:\n${text.slice(-2000)}`);
  return summary[0];
}
