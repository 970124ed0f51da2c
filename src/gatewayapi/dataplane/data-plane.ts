import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DataPlaneIR } from '../ir.ts';
import { ClusterRegistry } from './clusters.ts';
import { StreamPlane } from './l4/stream-plane.ts';
import type { ExchangeContext } from './exchange.ts';
import { DataPlaneMetrics } from './metrics.ts';
import { PortServer } from './port-server.ts';
import { PortTable, socketKey } from './tables.ts';
import { SecureContextCache } from './tls-contexts.ts';

/** A socket `apply` could not bind. */
export interface BindFailure {
  readonly gateway: string;
  readonly address: string;
  readonly port: number;
  readonly error: string;
}

export interface DataPlaneOptions {
  log: Logger;
  /** Request bodies up to this size are held in memory so retries and mirrors can resend them (64 KiB). */
  maxBufferedBodyBytes?: number;
  /** Where `kubegate_gatewayapi_*` metrics are registered; none without. */
  registry?: Registry;
}

/** A socket address used by two entries of one IR. */
export class DuplicateSocketError extends Error {
  override name = 'DuplicateSocketError';
}

/** Listening sockets that were just closed may hold their port for a moment. */
const REBIND_ATTEMPTS = 10;
const REBIND_DELAY_MS = 50;

/** The Gateway API data plane: serves a `DataPlaneIR`, swapped whole by `apply`. */
export class DataPlane {
  readonly #ctx: ExchangeContext;
  readonly #clusters = new ClusterRegistry();
  readonly #contexts = new SecureContextCache();
  readonly #servers = new Map<string, PortServer>();
  /** TLS, TCP and UDP listeners' sockets. */
  readonly #streams: StreamPlane;
  readonly #closing = new Set<Promise<void>>();
  /** Applies run one after the other. */
  #applying: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(opts: DataPlaneOptions) {
    this.#ctx = {
      clusters: this.#clusters,
      metrics: new DataPlaneMetrics(opts.registry),
      log: opts.log,
      maxBufferedBodyBytes: opts.maxBufferedBodyBytes ?? 64 * 1024,
    };
    this.#streams = new StreamPlane({ log: opts.log });
  }

  /**
   * Swaps in a new IR: binds sockets for new (address, port) pairs, closes removed ones gracefully,
   * keeps existing ones (and their connections) and swaps their routing table in one assignment.
   * Resolves when binding is done; never throws for one bad socket.
   */
  apply(ir: DataPlaneIR): Promise<{ failed: BindFailure[] }> {
    const run = this.#applying.then(() => this.#apply(ir));
    this.#applying = run.catch(() => {});
    return run;
  }

  /** Closes every socket (in-flight requests get a drain period) and the upstream pools. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#applying;
    const all = [...this.#servers.values()];
    this.#servers.clear();
    await Promise.all([...all.map((s) => s.close()), ...this.#closing, this.#streams.close()]);
    this.#clusters.close();
  }

  async #apply(ir: DataPlaneIR): Promise<{ failed: BindFailure[] }> {
    const failed: BindFailure[] = [];
    if (this.#closed) return { failed };
    const log = this.#ctx.log;
    const tables = new Map<string, PortTable>();
    for (const p of ir.ports) {
      const key = socketKey(p.address, p.port);
      const other = tables.get(key);
      if (other !== undefined) {
        const err = new DuplicateSocketError(`${p.address}:${p.port} is already served for ${other.gateway}`);
        failed.push({ gateway: p.gateway, address: p.address, port: p.port, error: err.message });
        continue;
      }
      tables.set(key, new PortTable(p, this.#contexts, log));
    }
    const streamTables = this.#streams.tables(ir.streams ?? [], this.#contexts);
    this.#contexts.retain();
    // Clusters first: the new tables name them.
    this.#clusters.update(ir.clusters);
    const binding: Promise<void>[] = [];
    const freed = new Set<string>();
    for (const [key, server] of this.#servers) {
      const t = tables.get(key);
      if (
        t !== undefined &&
        t.protocol === server.protocol &&
        (t.clientValidation !== null) === server.requestsCertificates
      )
        continue;
      this.#servers.delete(key);
      freed.add(key);
      this.#retire(server);
    }
    for (const [key, table] of tables) {
      const existing = this.#servers.get(key);
      if (existing !== undefined) {
        existing.setTable(table);
        continue;
      }
      binding.push(this.#bind(key, table, freed.has(key), failed));
    }
    await Promise.all(binding);
    failed.push(...(await this.#streams.apply(streamTables)));
    return { failed };
  }

  async #bind(key: string, table: PortTable, justFreed: boolean, failed: BindFailure[]): Promise<void> {
    for (let i = 0; ; i++) {
      const server = new PortServer(this.#ctx, table);
      try {
        await server.listen();
        this.#servers.set(key, server);
        return;
      } catch (err) {
        const e = err as Error & { code?: string };
        if (justFreed && e.code === 'EADDRINUSE' && i < REBIND_ATTEMPTS) {
          await sleep(REBIND_DELAY_MS);
          continue;
        }
        this.#ctx.log.warn(
          { gateway: table.gateway, address: table.address, port: table.port, err: e.message },
          'gatewayapi: cannot bind a Gateway socket',
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
