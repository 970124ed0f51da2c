import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// One control plane per test run, shared by every e2e file: `kubegate dev` itself, started the way
// a user starts it, so the e2e tests exercise its folder contract. Its folder reaches the test
// processes through KUBEGATE_DEV_DIR.
const BIN = fileURLToPath(new URL('../../bin/kubegate', import.meta.url));
let child: ChildProcess | null = null;

export async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-e2e-'));
  process.env.KUBEGATE_DEV_DIR = dir;
  child = spawn(BIN, ['dev', '--dir', dir, '--apiservers', '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`kubegate dev not ready after 15 min:\n${out}`)),
      15 * 60_000,
    );
    child!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (/^kubegate dev: ready$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child!.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubegate dev exited with ${code} before ready:\n${out}`));
    });
  });
  child.stdout!.resume();
}

export async function globalTeardown(): Promise<void> {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
  // The control plane's folder (etcd data, PKI, logs) is the run's own: leave nothing behind.
  const dir = process.env.KUBEGATE_DEV_DIR;
  if (dir) await rm(dir, { recursive: true, force: true });
}
