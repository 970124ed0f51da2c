import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

const RUN = resolve(import.meta.dirname, 'run.ts');
const REPO = resolve(import.meta.dirname, '../..');
const isRoot = process.getuid?.() === 0;

// Stands in for gateway-api-conformance.test: reports where it runs, then go test -v lines.
const FAKE_SUITE = `#!/bin/sh
echo "PID $$"
echo "NETNS $(readlink /proc/self/ns/net)"
echo "ROOT $KUBEGATE_ROOT_NETNS"
echo "PROXY \${HTTPS_PROXY:-none}"
for a in "$@"; do echo "ARG $a"; done
if [ "$FAKE_MODE" = hang ]; then echo "=== RUN   TestGatewayAPIConformance"; exec sleep 300; fi
echo "    --- PASS: TestGatewayAPIConformance/HTTPRouteSimpleSameNamespace (0.50s)"
echo "    --- FAIL: TestGatewayAPIConformance/HTTPRouteCORS (0.40s)"
echo "    --- SKIP: TestGatewayAPIConformance/GRPCExactMethodMatching (0.00s)"
echo "--- FAIL: TestGatewayAPIConformance (1.00s)"
echo FAIL
exit 1
`;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runTs(args: string[], env: NodeJS.ProcessEnv = {}, onStart?: (pid: number) => void): Promise<Ran> {
  const child = spawn(process.execPath, [RUN, ...args], { env: { ...process.env, ...env } });
  if (child.pid) onStart?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((done) => child.once('close', (code) => done({ code, stdout, stderr })));
}

describe('run.ts', () => {
  let dir = '';
  let fake = '';
  const netns = `kgctest-run-${process.pid}`;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kgc-run-'));
    fake = join(dir, 'fake-suite');
    writeFileSync(fake, FAKE_SUITE);
    chmodSync(fake, 0o755);
    writeFileSync(join(dir, 'gateway.kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  });
  after(() => {
    if (existsSync(`/run/netns/${netns}`)) execFileSync('ip', ['netns', 'delete', netns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a dev folder whose state.json names no lab namespace', async () => {
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ gateway: 'https://127.0.0.1:1' }));
    const r = await runTs(['--dev-dir', dir, '--binary', fake]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no lab\.underlayNetns: was kubegate dev started with --gateway-api\?/);
  });

  it(
    'runs the suite in the underlay namespace with the claimed features and exits with its code',
    { skip: !isRoot && 'needs root for a network namespace' },
    async () => {
      execFileSync('ip', ['netns', 'add', netns]);
      writeFileSync(join(dir, 'state.json'), JSON.stringify({ lab: { underlayNetns: netns } }));
      const log = join(dir, 'out.log');
      const r = await runTs(
        ['--dev-dir', dir, '--binary', fake, '--log', log, '--run-test', 'HTTPRouteCORS'],
        {
          HTTPS_PROXY: 'http://proxy.invalid:1',
        },
      );
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /PASS HTTPRouteSimpleSameNamespace \(0\.5s\)/);
      assert.match(r.stdout, /1 passed, 1 failed, 1 skipped \(TestGatewayAPIConformance: FAIL\)/);
      assert.match(r.stdout, /failed: {2}HTTPRouteCORS/);

      const out = readFileSync(log, 'utf8');
      assert.match(out, new RegExp(`^NETNS net:\\[${statSync(`/run/netns/${netns}`).ino}\\]$`, 'm'));
      assert.match(out, new RegExp(`^ROOT /proc/\\d+/ns/net$`, 'm'));
      assert.match(out, /^PROXY none$/m);
      for (const arg of [
        '-test.run=^TestGatewayAPIConformance$',
        '-test.v',
        '-test.timeout=30m',
        '-test.parallel=20',
        `-kubeconfig=${join(dir, 'gateway.kubeconfig')}`,
        `-supported-features-file=${join(REPO, 'src/gatewayapi/supported-features.json')}`,
        '-gateway-class=kubegate',
        '-version=v0.1.0',
        '-run-test=HTTPRouteCORS',
      ])
        assert.ok(out.includes(`\nARG ${arg}\n`), `missing ${arg} in\n${out}`);
    },
  );

  it(
    'stops the suite on Ctrl-C and exits 130',
    { skip: !isRoot && 'needs root for a network namespace' },
    async () => {
      if (!existsSync(`/run/netns/${netns}`)) execFileSync('ip', ['netns', 'add', netns]);
      writeFileSync(join(dir, 'state.json'), JSON.stringify({ lab: { underlayNetns: netns } }));
      const log = join(dir, 'hang.log');
      let runPid = 0;
      const ran = runTs(
        ['--dev-dir', dir, '--binary', fake, '--log', log],
        { FAKE_MODE: 'hang' },
        (p) => (runPid = p),
      );
      let suitePid = 0;
      for (let i = 0; i < 100 && !suitePid; i++) {
        await sleep(100);
        const m = existsSync(log) ? /^PID (\d+)$/m.exec(readFileSync(log, 'utf8')) : null;
        if (m && readFileSync(log, 'utf8').includes('=== RUN')) suitePid = Number(m[1]);
      }
      assert.ok(suitePid > 0, 'the fake suite did not start');
      process.kill(runPid, 'SIGINT');
      const r = await ran;
      assert.equal(r.code, 130, r.stdout + r.stderr);
      assert.throws(() => process.kill(suitePid, 0), /ESRCH/);
    },
  );
});
