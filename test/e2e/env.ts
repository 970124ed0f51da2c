import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The shared `kubegate dev` folder of this test run (see global-setup.ts). */
export function devDir(): string {
  const dir = process.env.KUBEGATE_DEV_DIR;
  if (!dir) throw new Error('KUBEGATE_DEV_DIR is not set: run e2e tests with `npm test` (global setup)');
  return dir;
}

/** kubectl: /usr/bin/kubectl, else on PATH, else in KUBEBUILDER_ASSETS. */
export function kubectlPath(): string {
  if (existsSync('/usr/bin/kubectl')) return '/usr/bin/kubectl';
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && existsSync(join(assets, 'kubectl'))) return join(assets, 'kubectl');
  return 'kubectl';
}

/** Runs kubectl with a kubeconfig of the dev folder; rejects with stderr on failure. */
export async function kubectl(kubeconfig: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run(kubectlPath(), ['--kubeconfig', join(devDir(), kubeconfig), ...args], {
    timeout: 60_000,
  });
  return stdout;
}

/** The JSON lines of a log file. */
export function jsonLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
