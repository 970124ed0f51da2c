import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { devDir, kubectlPath } from '../env.ts';

const RUN = fileURLToPath(new URL('../../../tools/e2e-suites/run.ts', import.meta.url));
/** Ginkgo processes: the suite's specs each make their own namespaces, so they run side by side. */
const PROCS = '3';

async function runSuite(suite: 'netpol' | 'services', minutes: number): Promise<string> {
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

// The judge of NetworkPolicy: the upstream Kubernetes NetworkPolicy e2e (test/e2e/network/netpol,
// v1.37.2) against this run's cluster, where `kubegate node` runs in every node. Every case but
// the SCTP ones (this kernel has no SCTP) must pass; it probes with `kubectl exec … agnhost connect`
// to each pod's Service, so the Service proxy is judged too.
test('the upstream NetworkPolicy e2e suite passes (all but SCTP)', { timeout: 30 * 60_000 }, async (t) => {
  // 3 processes pass the TCP cases in about 12 minutes; a case that cannot converge (its probes
  // retried) must not hold CI longer than this.
  t.diagnostic(await runSuite('netpol', 25));
});
