import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type ClientHttp2Session } from 'node:http2';

const run = promisify(execFile);

/** The shared `kubegate dev` folder of this test run (see global-setup.ts). */
export function devDir(): string {
  const dir = process.env.KUBEGATE_DEV_DIR;
  if (!dir) throw new Error('KUBEGATE_DEV_DIR is not set: run e2e tests with `npm test` (global setup)');
  return dir;
}

/** The second `kubegate dev` folder of this test run: cluster B, one apiserver, its own PKI. */
export function devDirB(): string {
  const dir = process.env.KUBEGATE_DEV_DIR_B;
  if (!dir) throw new Error('KUBEGATE_DEV_DIR_B is not set: run e2e tests with `npm test` (global setup)');
  return dir;
}

/**
 * kubectl: the one built with the control plane (v1.37.2, set by the global setup), else
 * /usr/bin/kubectl, else on PATH, else in KUBEBUILDER_ASSETS.
 */
export function kubectlPath(): string {
  const built = process.env.KUBEGATE_KUBECTL;
  if (built && existsSync(built)) return built;
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

/** The JSON lines of a log file; a last line still being written (no newline yet) is left out. */
export function jsonLines(file: string): Record<string, unknown>[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // '' after the last newline, or the start of a line whose write is not done
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** What `kubegate dev` wrote to state.json: URLs and process ids. */
export interface DevState {
  gateway: string;
  apiservers: string[];
  pids: Record<string, number>;
}

export function devState(): DevState {
  return JSON.parse(readFileSync(join(devDir(), 'state.json'), 'utf8')) as DevState;
}

/** An HTTP/2 session to `url` (default: the gateway) as the dev cluster's admin. */
export function adminH2(url = devState().gateway): ClientHttp2Session {
  const d = devDir();
  return connect(url, {
    ca: readFileSync(join(d, 'pki', 'ca.crt')),
    cert: readFileSync(join(d, 'pki', 'admin.crt')),
    key: readFileSync(join(d, 'pki', 'admin.key')),
  });
}
