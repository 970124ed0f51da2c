import { deserialize, serialize } from 'node:v8';
import type { SharedLimitsDelta } from '../cluster/shared-limits.ts';
import type { ClusterConfig, GatewayConfig } from '../config/model.ts';
import type { ClientCounts } from '../gateway.ts';

/** What a worker thread is started with. */
export interface WorkerData {
  /** 0, 1, …: the `worker` field of its log lines. */
  readonly index: number;
  /** The access log file (each worker appends its own lines); stdout when absent. */
  readonly logPath: string | undefined;
}

/** Main thread → worker. Every message is answered with one `Reply` of the same id. */
export type Command =
  | { id: number; type: 'start'; config: GatewayConfig; shared: SharedLimitsDelta; counts: ClientCounts }
  | { id: number; type: 'reload'; config: PackedConfig; shared: SharedLimitsDelta }
  | {
      id: number;
      type: 'dynamic';
      source: string;
      clusters: readonly ClusterConfig[];
      shared: SharedLimitsDelta;
    }
  | { id: number; type: 'ready' }
  | { id: number; type: 'metrics' }
  | { id: number; type: 'status' }
  | { id: number; type: 'stop'; drainMs: number | undefined; delayMs: number | undefined };

/** A command's kind. */
export type CommandType = Command['type'];

/** Worker → main thread: the answer to the command `id`. */
export type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { name: string; message: string } };

/** What `start` and `reload` answer: the port each listener is bound to, by listener name. */
export type ListenerPorts = Record<string, number>;

/**
 * A configuration serialized once for every worker: `postMessage` clones its message anew for each
 * one, on the main thread, one after the other (~2-5 ms per 1000-rule file each, more under load).
 */
export type PackedConfig = Uint8Array & { readonly packed: unique symbol };

export function packConfig(config: GatewayConfig): PackedConfig {
  return serialize(config) as Uint8Array as PackedConfig;
}

export function unpackConfig(packed: PackedConfig): GatewayConfig {
  return deserialize(packed) as GatewayConfig;
}
