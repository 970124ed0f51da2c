import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';

/** HAProxy in front of the same upstreams: `l7` terminates TLS and speaks h2 both sides, `l4` passes TCP. */
export type HAProxyMode = 'l7' | 'l4';

export interface HAProxyOptions {
  mode: HAProxyMode;
  port: number;
  /** host:port of each upstream. */
  upstreams: readonly string[];
  /** cert+key PEM for the L7 listener. */
  serverPem: string;
  /** CA that signed the upstreams' certificates (L7 verifies them). */
  caFile: string;
  threads: number;
}

/** The haproxy.cfg text for `opts`: round-robin per request (L7) or per connection (L4). */
export function haproxyConfig(opts: HAProxyOptions): string {
  const servers = opts.upstreams.map((u, i) =>
    opts.mode === 'l7'
      ? `  server s${i} ${u} ssl verify required ca-file ${opts.caFile} verifyhost localhost alpn h2`
      : `  server s${i} ${u}`,
  );
  const bind =
    opts.mode === 'l7'
      ? `  bind 127.0.0.1:${opts.port} ssl crt ${opts.serverPem} alpn h2,http/1.1`
      : `  bind 127.0.0.1:${opts.port}`;
  return [
    'global',
    `  nbthread ${opts.threads}`,
    '  maxconn 8000',
    'defaults',
    `  mode ${opts.mode === 'l7' ? 'http' : 'tcp'}`,
    '  timeout connect 5s',
    '  timeout client 120s',
    '  timeout server 120s',
    'frontend fe',
    bind,
    '  default_backend be',
    'backend be',
    '  balance roundrobin',
    ...servers,
    '',
  ].join('\n');
}

/** A foreground `haproxy -db` process with a generated configuration. */
export class HAProxy {
  #child: ChildProcess | null = null;
  readonly opts: HAProxyOptions;

  constructor(opts: HAProxyOptions) {
    this.opts = opts;
  }

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  /** Writes the config into `dir`, starts HAProxy and waits for its port. */
  async start(dir: string): Promise<void> {
    const cfg = join(dir, `haproxy-${this.opts.mode}.cfg`);
    await writeFile(cfg, haproxyConfig(this.opts));
    this.#child = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitPort(this.opts.port, 10_000);
  }

  /** SIGTERM, then SIGKILL after 3 s. */
  async stop(): Promise<void> {
    await stopChild(this.#child, 3000);
    this.#child = null;
  }
}

/** Waits until something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(c: ChildProcess | null, graceMs: number): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs).unref())]);
  if (c.exitCode === null && c.signalCode === null) {
    c.kill('SIGKILL');
    await exited;
  }
}
