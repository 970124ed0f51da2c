import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type ClientHttp2Session } from 'node:http2';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort } from '../../src/dev/ports.ts';
import { devDir, devState, jsonLines } from './env.ts';

const BIN = fileURLToPath(new URL('../../bin/kubegate', import.meta.url));

/** A listener's `tls` files. */
export interface ListenerTLSFiles {
  certFile: string;
  keyFile: string;
  clientCAFile: string;
}

/** Cluster fields of the test's own gateway (rules, limits, breaker…) on top of the dev apiservers. */
export type ClusterPatch = Record<string, unknown>;

/**
 * A `kubegate serve` process of the test's own, in front of the shared dev apiservers, with a
 * configuration file the test rewrites to exercise rules and live reload. Cluster `e2e` is the
 * file's; listener `crd` (optional) serves a cluster defined by an UpstreamCluster object.
 */
export class OwnGateway {
  readonly dir: string;
  readonly file: string;
  readonly url: string;
  readonly crdURL: string | null;
  /** The admin listener's base URL (`http://127.0.0.1:PORT`) when started with `admin: true`. */
  readonly adminURL: string | null;
  readonly #ports: { main: number; crd: number | null; admin: number | null };
  #child: ChildProcess | null = null;
  #kubeGateway = false;
  #top: Record<string, unknown> = {};
  #tls: ListenerTLSFiles | null = null;

  private constructor(dir: string, ports: { main: number; crd: number | null; admin: number | null }) {
    this.dir = dir;
    this.file = join(dir, 'kubegate.yaml');
    this.#ports = ports;
    this.url = `https://127.0.0.1:${ports.main}`;
    this.crdURL = ports.crd === null ? null : `https://127.0.0.1:${ports.crd}`;
    this.adminURL = ports.admin === null ? null : `http://127.0.0.1:${ports.admin}`;
  }

  /**
   * Starts `kubegate serve` with cluster `e2e` = dev apiservers + `patch`; `crdCluster` adds a
   * listener for it; `gateway` adds top-level fields (e.g. `workers`).
   */
  static async start(
    patch: ClusterPatch,
    opts: {
      crdCluster?: string;
      kubeGatewayClusters?: boolean;
      admin?: boolean;
      gateway?: Record<string, unknown>;
      /** The listeners' certificate files (default: the dev PKI's gateway.crt/.key and ca.crt). */
      tls?: ListenerTLSFiles;
    } = {},
  ): Promise<OwnGateway> {
    const dir = await mkdtemp(join(tmpdir(), 'kubegate-own-'));
    const gw = new OwnGateway(dir, {
      main: await freePort(),
      crd: opts.crdCluster ? await freePort() : null,
      admin: opts.admin ? await freePort() : null,
    });
    gw.#kubeGateway = opts.kubeGatewayClusters === true;
    gw.#top = opts.gateway ?? {};
    gw.#tls = opts.tls ?? null;
    await gw.write(patch, opts.crdCluster);
    gw.#child = spawn(BIN, ['serve', '-f', gw.file], { stdio: ['ignore', 'ignore', 'inherit'] });
    await gw.#waitListening();
    return gw;
  }

  /** The configuration document for `patch` (rewritten in place by `write`). */
  configuration(patch: ClusterPatch, crdCluster?: string): Record<string, unknown> {
    const d = devDir();
    const pki = (f: string) => join(d, 'pki', f);
    const tls = this.#tls ?? {
      certFile: pki('gateway.crt'),
      keyFile: pki('gateway.key'),
      clientCAFile: pki('ca.crt'),
    };
    const listeners: Record<string, unknown>[] = [
      { name: 'main', address: '127.0.0.1', port: this.#ports.main, tls, cluster: 'e2e' },
    ];
    if (crdCluster && this.#ports.crd !== null)
      listeners.push({ name: 'crd', address: '127.0.0.1', port: this.#ports.crd, tls, cluster: crdCluster });
    return {
      apiVersion: 'kubegate.io/v1alpha1',
      kind: 'GatewayConfiguration',
      listeners,
      clusters: [
        {
          name: 'e2e',
          endpoints: devState().apiservers.map((url, i) => ({ name: `apiserver-${i}`, url })),
          upstreamCA: { file: pki('ca.crt') },
          credentials: { certFile: pki('gateway-upstream.crt'), keyFile: pki('gateway-upstream.key') },
          healthCheck: { intervalSeconds: 1, timeoutSeconds: 1, rise: 1, fall: 2 },
          ...patch,
        },
      ],
      kubernetes:
        crdCluster || this.#kubeGateway
          ? { kubeconfigFile: join(d, 'gateway-upstream.kubeconfig'), kubeGatewayClusters: this.#kubeGateway }
          : undefined,
      accessLog: { path: join(this.dir, 'kubegate.log') },
      // Without `admin: true` a free port all the same: the default (9443) would clash between tests.
      admin: { address: '127.0.0.1', port: this.#ports.admin ?? 0 },
      shutdown: { drainSeconds: 2 },
      ...this.#top,
    };
  }

  /** Rewrites the configuration file atomically (the gateway reloads it live). */
  async write(patch: ClusterPatch, crdCluster?: string): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, stringify(this.configuration(patch, crdCluster)));
    const { rename } = await import('node:fs/promises');
    await rename(tmp, this.file);
  }

  /** The gateway's log lines (access log and events). */
  logs(): Record<string, unknown>[] {
    return jsonLines(join(this.dir, 'kubegate.log'));
  }

  /**
   * An HTTP/2 session to the gateway (or `url`) as the dev admin, as another x509 user, or with no
   * client certificate at all (`'none'`, for bearer tokens).
   */
  session(url = this.url, user?: { cert: string; key: string } | 'none'): ClientHttp2Session {
    const d = devDir();
    const ca = readFileSync(join(d, 'pki', 'ca.crt'));
    if (user === 'none') return connect(url, { ca });
    return connect(url, {
      ca,
      cert: user ? readFileSync(user.cert) : readFileSync(join(d, 'pki', 'admin.crt')),
      key: user ? readFileSync(user.key) : readFileSync(join(d, 'pki', 'admin.key')),
    });
  }

  async #waitListening(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.#child?.exitCode !== null)
        throw new Error(`kubegate serve exited with ${this.#child?.exitCode}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = this.session();
        s.on('error', () => resolve(false));
        const r = s.request({ ':path': '/readyz' });
        r.on('response', (h) => {
          resolve(h[':status'] === 200);
          r.resume();
          s.close();
        });
        r.on('error', () => resolve(false));
        r.end();
      });
      // With worker threads the first one answers before the others listen: wait for all of them.
      if (ok && (this.#top.workers ?? 1) === 1) return;
      if (ok && this.logs().some((l) => l.msg === 'kubegate worker threads listening')) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('kubegate serve did not answer /readyz within 30s');
  }

  /** The `kubegate serve` process id (null before start). */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /**
   * SIGTERM (graceful drain) and waits for the exit, keeping the folder and ports so `restart()`
   * starts it again as the same replica. Resolves with the exit code.
   */
  async terminate(): Promise<number | null> {
    const c = this.#child;
    if (!c || c.exitCode !== null) return c?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    c.kill('SIGTERM');
    return exited;
  }

  /** Starts `kubegate serve` again on the same file and ports, after `terminate()`. */
  async restart(): Promise<void> {
    this.#child = spawn(BIN, ['serve', '-f', this.file], { stdio: ['ignore', 'ignore', 'inherit'] });
    await this.#waitListening();
  }

  /** SIGTERM (graceful), then removes the folder. */
  async stop(): Promise<void> {
    const c = this.#child;
    if (c && c.exitCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      // unref: a timer left after the exit would hold the test process for 10 s.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
      if (c.exitCode === null) c.kill('SIGKILL');
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** One request over an HTTP/2 session: status, headers and body text. */
export function h2request(
  s: ClientHttp2Session,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const r = s.request(
      { ':method': opts.method ?? 'GET', ':path': path, ...opts.headers },
      { endStream: opts.body === undefined },
    );
    let status = 0;
    let headers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    r.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => resolve({ status, headers, body: Buffer.concat(chunks).toString('utf8') }));
    r.on('error', reject);
    if (opts.body !== undefined) r.end(opts.body);
  });
}
