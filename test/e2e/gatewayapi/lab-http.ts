import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { devDir, kubectl } from '../env.ts';

const run = promisify(execFile);

/** What a request from outside the cluster got back: status, headers (lower-case), body. */
export interface LabResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The lab's underlay namespace: where a client outside the cluster (but on its network) sits. */
export function underlayNetns(): string {
  const state = JSON.parse(readFileSync(join(devDir(), 'state.json'), 'utf8')) as {
    lab: { underlayNetns: string } | null;
  };
  if (!state.lab) throw new Error('the dev cluster has no lab (started with --nodes 0?)');
  return state.lab.underlayNetns;
}

/** One HTTP request with curl from the underlay namespace (no redirects followed). */
export async function labRequest(url: string, headers: Record<string, string> = {}): Promise<LabResponse> {
  const args = ['netns', 'exec', underlayNetns(), 'curl', '-sS', '-m', '5', '-D', '-', '-o', '-'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const { stdout } = await run('ip', args, { timeout: 10_000 });
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, split).split('\r\n');
  const status = Number(head[0].split(' ')[1]);
  const out: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    out[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers: out, body: stdout.slice(split + 4) };
}

/** Retries `labRequest` until `ok` holds (routes take a moment to be served), or fails with the last answer. */
export async function eventually(
  url: string,
  headers: Record<string, string>,
  ok: (r: LabResponse) => boolean,
  timeoutMs = 60_000,
): Promise<LabResponse> {
  const deadline = Date.now() + timeoutMs;
  let last: LabResponse | string = 'no answer';
  while (Date.now() < deadline) {
    try {
      const r = await labRequest(url, headers);
      if (ok(r)) return r;
      last = r;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url}: not as expected within ${timeoutMs / 1000}s; last: ${JSON.stringify(last)}`);
}

/** The first address in a Gateway's status, once it has one. */
export async function gatewayAddress(ns: string, name: string): Promise<string> {
  await kubectl('gateway.kubeconfig', [
    '-n',
    ns,
    'wait',
    '--for=condition=Programmed',
    `gateway/${name}`,
    '--timeout=60s',
  ]);
  const out = await kubectl('gateway.kubeconfig', [
    '-n',
    ns,
    'get',
    'gateway',
    name,
    '-o',
    'jsonpath={.status.addresses[0].value}',
  ]);
  return out.trim();
}
