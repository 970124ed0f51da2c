import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stopChild } from './haproxy.ts';
import { deleteTables, type ServiceProxy } from './service-proxy.ts';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const METRICS_PORT = 10259;
// Its Service tables; `--cleanup` also removes the NetworkPolicy tables, which are not counted.
const TABLES = ['ip kubegate-proxy', 'ip6 kubegate-proxy'];

export interface KubegateNodeOptions {
  /** Admin kubeconfig (its server is kubegate's loopback endpoint). */
  kubeconfig: string;
  /** A unix socket in the root namespace joined to that endpoint (the namespaces cannot reach it). */
  apiSocket: string;
  logDir: string;
  /** Another tree's src/cli/main.ts (default: this tree's), named `kubegate node (before)`. */
  main?: string;
}

/**
 * `kubegate node` on every node of a lab, as `kubegate dev --node-networking` runs it, plus its
 * metrics endpoint; `stop` runs `kubegate node --cleanup` in each namespace.
 */
export class KubegateNodes implements ServiceProxy {
  readonly name: 'kubegate node' | 'kubegate node (before)';
  readonly tables = TABLES;
  readonly syncMetric = 'kubegate_node_sync_duration_seconds';
  readonly metricsPort = METRICS_PORT;
  readonly leftBehind: string[] = [];
  readonly #opts: KubegateNodeOptions;
  readonly #nodes: readonly { name: string; netns: string }[];
  #running: ChildProcess[] = [];

  constructor(opts: KubegateNodeOptions, nodes: readonly { name: string; netns: string }[]) {
    this.#opts = opts;
    this.#nodes = nodes;
    this.name = opts.main === undefined ? 'kubegate node' : 'kubegate node (before)';
  }

  async start(): Promise<void> {
    this.#running = this.#nodes.map((n) => {
      const log = `kubegate-node${this.#opts.main === undefined ? '' : '-before'}-${n.name}.log`;
      const fd = openSync(join(this.#opts.logDir, log), 'a');
      const child = spawn(
        'setpriv',
        ['--pdeathsig', 'KILL', '--', 'ip', 'netns', 'exec', n.netns, process.execPath, this.#opts.main ?? MAIN,
          'node', '--kubeconfig', this.#opts.kubeconfig, '--api-socket', this.#opts.apiSocket, '--node-name', n.name,
          '--fix-prerequisites', '--metrics-address', `127.0.0.1:${METRICS_PORT}`], // prettier-ignore
        { stdio: ['ignore', fd, fd] },
      );
      closeSync(fd);
      return child;
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.#running.map((c) => stopChild(c, 5000)));
    this.#running = [];
    for (const n of this.#nodes) {
      await run('ip', ['netns', 'exec', n.netns, process.execPath, MAIN, 'node', '--cleanup'], {
        timeout: 60_000,
      }).catch(() => undefined);
      for (const t of await deleteTables(n.netns, TABLES)) this.leftBehind.push(`${n.name}: ${t}`);
    }
  }
}
