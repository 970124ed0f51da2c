import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { StreamPortIR } from '../../ir.ts';
import type { SecureContextCache } from '../tls-contexts.ts';
import type { HelloOptions } from './read-hello.ts';
import { StreamTable } from './stream-table.ts';
import { TcpPortServer } from './tcp-port.ts';
import { UdpPortServer } from './udp-port.ts';

/** A stream socket `apply` could not bind. */
export interface StreamBindFailure {
  readonly gateway: string;
  readonly address: string;
  readonly port: number;
  readonly error: string;
}

export interface StreamPlaneOptions {
  readonly log: Logger;
  readonly hello?: HelloOptions;
  readonly udpIdleMs?: number;
}

type PortServer = TcpPortServer | UdpPortServer;

/** A socket just closed (by this apply or the HTTP side's) may hold its port a moment. */
const REBIND_ATTEMPTS = 20;
const REBIND_DELAY_MS = 50;

/** TCP and UDP ports are apart: the same number may be bound once of each. */
function socketKey(p: { protocol: string; address: string; port: number }): string {
  return `${p.protocol === 'UDP' ? 'udp' : 'tcp'} ${p.address} ${p.port}`;
}

/**
 * The TLS, TCP and UDP sockets of the data plane: binds new ones, closes removed ones, and swaps the
 * table of a kept one in one assignment (its connections and UDP sessions go on).
 */
export class StreamPlane {
  readonly #opts: StreamPlaneOptions;
  readonly #servers = new Map<string, PortServer>();
  readonly #closing = new Set<Promise<void>>();

  constructor(opts: StreamPlaneOptions) {
    this.#opts = opts;
  }

  /** Compiles the tables of `ports` (certificates from `contexts`); call before `contexts.retain()`. */
  tables(ports: readonly StreamPortIR[], contexts: SecureContextCache): Map<string, StreamTable> {
    const tables = new Map<string, StreamTable>();
    for (const p of ports) {
      const key = socketKey(p);
      if (!tables.has(key)) tables.set(key, new StreamTable(p, contexts, this.#opts.log));
    }
    return tables;
  }

  /** Serves `tables`; resolves when binding is done, with the sockets that could not be bound. */
  async apply(tables: ReadonlyMap<string, StreamTable>): Promise<StreamBindFailure[]> {
    const failed: StreamBindFailure[] = [];
    for (const [key, server] of this.#servers) {
      const t = tables.get(key);
      if (t !== undefined && t.protocol === server.protocol) continue;
      this.#servers.delete(key);
      this.#retire(server);
    }
    const binding: Promise<void>[] = [];
    for (const [key, table] of tables) {
      const existing = this.#servers.get(key);
      if (existing !== undefined) existing.setTable(table);
      else binding.push(this.#bind(key, table, failed));
    }
    await Promise.all(binding);
    return failed;
  }

  async close(): Promise<void> {
    const all = [...this.#servers.values()];
    this.#servers.clear();
    await Promise.all([...all.map((s) => s.close(0)), ...this.#closing]);
  }

  async #bind(key: string, table: StreamTable, failed: StreamBindFailure[]): Promise<void> {
    for (let i = 0; ; i++) {
      const server =
        table.protocol === 'UDP'
          ? new UdpPortServer(table, { log: this.#opts.log, idleMs: this.#opts.udpIdleMs })
          : new TcpPortServer(table, { log: this.#opts.log, hello: this.#opts.hello });
      try {
        await server.listen();
        this.#servers.set(key, server);
        return;
      } catch (err) {
        const e = err as Error & { code?: string };
        await server.close(0).catch(() => {});
        if (e.code === 'EADDRINUSE' && i < REBIND_ATTEMPTS) {
          await sleep(REBIND_DELAY_MS);
          continue;
        }
        this.#opts.log.warn(
          { gateway: table.gateway, address: table.address, port: table.port, err: e.message },
          'gatewayapi: cannot bind a Gateway stream socket',
        );
        failed.push({ gateway: table.gateway, address: table.address, port: table.port, error: e.message });
        return;
      }
    }
  }

  #retire(server: PortServer): void {
    const p = server.close().catch(() => {});
    this.#closing.add(p);
    void p.then(() => this.#closing.delete(p));
  }
}
