import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
/** A temp folder removed when the file's tests end. */
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

const BIN = fileURLToPath(new URL('../../../bin/kubegate', import.meta.url));

function kubegate(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BIN, args, { env, timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

test('an unknown flag gives one clear line and a non-zero exit', async () => {
  const r = await kubegate(['dev', '--apiserverz', '3']);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /Unknown option '--apiserverz'/);
});

test('an unknown command gives one clear line and a non-zero exit', async () => {
  const r = await kubegate(['deploy']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^kubegate: error: unknown command "deploy"/);
});

test('a --dir in use by a running kubegate dev is refused', async () => {
  const dir = tempDir('kubegate-busy-');
  writeFileSync(join(dir, '.kubegate-dev'), '');
  writeFileSync(join(dir, 'kubegate-dev.pid'), String(process.pid)); // this test process: alive
  const r = await kubegate(['dev', '--dir', dir]);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /is busy: kubegate dev \(pid \d+\) is using it/);
});

test('a --dir with foreign files is refused', async () => {
  const dir = tempDir('kubegate-foreign-');
  writeFileSync(join(dir, 'thesis.tex'), '');
  const r = await kubegate(['dev', '--dir', dir]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /not empty and was not made by kubegate dev/);
});

test('no binaries and no Go toolchain gives one clear line naming what is missing', async () => {
  const cache = tempDir('kubegate-nocache-');
  mkdirSync(join(cache, 'x'));
  // GOROOT points at nothing so that provide.sh's fallback to Go's install folder finds no Go either.
  const env = {
    HOME: cache,
    KUBEGATE_CACHE: cache,
    GOROOT: join(cache, 'no-go'),
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
  };
  const r = await kubegate(['dev', '--dir', join(cache, 'd')], env);
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /missing: kube-apiserver etcd kube-controller-manager.*no Go toolchain/);
});

test('gateway-api: a bad address pool or log level is named in one line, exit 2, before anything starts', async () => {
  const pool = await kubegate(['gateway-api', '--address-pool', '10.0.0/24']);
  assert.equal(pool.code, 2);
  assert.match(pool.stderr, /--address-pool must be an IPv4 CIDR such as 10\.250\.2\.0\/24/);
  const level = await kubegate(['gateway-api', '--address-pool', '10.0.0.0/24', '--log-level', 'loud']);
  assert.equal(level.code, 2);
  assert.match(level.stderr, /--log-level must be one of .*debug.*, got loud/);
});

test('dev: --gateway-api with --nodes 0 is refused (its Gateways serve pods)', async () => {
  const r = await kubegate(['dev', '--nodes', '0', '--gateway-api', '--dir', tempDir('kubegate-gwapi-')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--gateway-api needs nodes/);
});
