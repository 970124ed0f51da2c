import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:http2';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../src/dev/ports.ts';
import type { GatewayOptions } from './gateway.ts';
import { stopChild } from './haproxy.ts';

const BIN = fileURLToPath(new URL('../../bin/kubegate', import.meta.url));
const run = promisify(execFile);

/** A `kubegate dev` control plane (etcd, 3 apiservers) the bench starts in its temp folder. */
export class DevCluster {
  readonly dir: string;
  apiservers: string[] = [];
  #child: ChildProcess | null = null;

  constructor(dir: string) {
    this.dir = dir;
  }

  pki(file: string): string {
    return join(this.dir, 'pki', file);
  }

  /**
   * Starts it and waits for `kubegate dev: ready` (at most 3 minutes: the first run may build
   * binaries). No nodes unless asked: their podlets' traffic would be part of what is measured.
   * `extraArgs` go to `kubegate dev` as they are (e.g. `--gateway-api`).
   */
  async start(apiservers = 3, nodes = 0, extraArgs: readonly string[] = []): Promise<void> {
    const args = [
      'dev',
      '--dir',
      this.dir,
      '--apiservers',
      String(apiservers),
      '--nodes',
      String(nodes),
      ...extraArgs,
    ];
    const c = spawn(BIN, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.#child = c;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('kubegate dev not ready after 180 s')), 180_000);
      let out = '';
      c.stdout!.setEncoding('utf8');
      c.stdout!.on('data', (d: string) => {
        out += d;
        if (out.includes('kubegate dev: ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`kubegate dev exited with ${code}:\n${out}`));
      });
    });
    c.stdout!.resume();
    const state = JSON.parse(await readFile(join(this.dir, 'state.json'), 'utf8')) as {
      apiservers: string[];
    };
    this.apiservers = state.apiservers;
  }

  /** A kubegate in front of its apiservers, with its PKI, on free ports; its files in `dir`. */
  async gatewayOptions(dir: string, rules?: GatewayOptions['rules']): Promise<GatewayOptions> {
    return {
      port: await freePort(),
      adminPort: await freePort(),
      upstreams: this.apiservers,
      tls: {
        certFile: this.pki('gateway.crt'),
        keyFile: this.pki('gateway.key'),
        clientCAFile: this.pki('ca.crt'),
      },
      upstreamCA: this.pki('ca.crt'),
      credentials: { certFile: this.pki('gateway-upstream.crt'), keyFile: this.pki('gateway-upstream.key') },
      dir,
      ...(rules === undefined ? {} : { rules }),
    };
  }

  /** kubectl as the dev admin, straight to apiserver 0. */
  async kubectl(...args: string[]): Promise<string> {
    const { stdout } = await run(
      'kubectl',
      ['--kubeconfig', join(this.dir, 'apiserver-0.kubeconfig'), ...args],
      {
        timeout: 30_000,
      },
    );
    return stdout.trim();
  }

  /**
   * A ConfigMap `default/bench` of about 1 KiB and a bearer token of service account `default/bench`
   * (view role) that h2load sends: it cannot present a client certificate.
   */
  async benchObjects(): Promise<string> {
    await this.kubectl(
      'create',
      'configmap',
      'bench',
      '-n',
      'default',
      `--from-literal=pad=${'x'.repeat(900)}`,
    );
    await this.kubectl('create', 'serviceaccount', 'bench', '-n', 'default');
    await this.kubectl(
      'create',
      'clusterrolebinding',
      'bench-view',
      '--clusterrole=view',
      '--serviceaccount=default:bench',
    );
    return this.kubectl('create', 'token', 'bench', '-n', 'default', '--duration=2h');
  }

  /** Sets label `bench-write` on ConfigMap default/bench, as the dev admin straight to apiserver 0 (no kubectl start-up). */
  async labelBench(value: string): Promise<void> {
    const [ca, cert, key] = await Promise.all(
      ['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(this.pki(f))),
    );
    const s = connect(this.apiservers[0]!, { ca, cert, key, servername: 'localhost' });
    try {
      await new Promise<void>((resolve, reject) => {
        const r = s.request({
          ':method': 'PATCH',
          ':path': '/api/v1/namespaces/default/configmaps/bench',
          'content-type': 'application/merge-patch+json',
        });
        r.on('response', (h) =>
          h[':status'] === 200 ? resolve() : reject(new Error(`PATCH answered ${h[':status']}`)),
        );
        r.on('error', reject);
        r.resume();
        r.end(JSON.stringify({ metadata: { labels: { 'bench-write': value } } }));
      });
    } finally {
      s.close();
    }
  }

  /** SIGTERM: kubegate dev stops every process it started. */
  async stop(): Promise<void> {
    await stopChild(this.#child, 20_000);
    this.#child = null;
  }
}
