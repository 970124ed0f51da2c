// The entry point of a worker thread: one RunningGateway (listeners with SO_REUSEPORT, clusters,
// upstream sessions, health checks) driven by the main thread's commands (see ThreadedGateway).
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import {
  applySharedLimitsDelta,
  type SharedLimits,
  type SharedLimitsDelta,
} from '../cluster/shared-limits.ts';
import { RunningGateway } from '../gateway.ts';
import { type Command, type ListenerPorts, type Reply, unpackConfig, type WorkerData } from './messages.ts';

const data = workerData as WorkerData;
const port = parentPort!;
// Each worker writes its own lines, O_APPEND: each write(2) lands whole at the end of the file, and
// pino's buffer only ever holds whole lines, so lines of different workers never interleave. On
// stdout (a pipe) writes of at most PIPE_BUF (4096) bytes are atomic: lines up to 4 KiB stay whole.
const destination = pino.destination(
  data.logPath ? { dest: data.logPath, mkdir: true, append: true } : { dest: 1, maxWrite: 4096 },
);
const log = pino(destination).child({ worker: data.index });
let gateway: RunningGateway | null = null;

function ports(gw: RunningGateway): ListenerPorts {
  return Object.fromEntries([...gw.addresses].map(([name, a]) => [name, a.port]));
}

function running(): RunningGateway {
  if (gateway === null) throw new Error('the worker has not started yet');
  return gateway;
}

// The limiters' shared memory as the main thread's registry holds it: each command brings the change.
let shared: SharedLimits = new Map();

function track(delta: SharedLimitsDelta): SharedLimits {
  shared = applySharedLimitsDelta(shared, delta);
  return shared;
}

async function run(c: Command): Promise<unknown> {
  switch (c.type) {
    case 'start':
      gateway = await RunningGateway.start(c.config, log, {
        reusePort: true,
        shared: track(c.shared),
        clientCounts: c.counts,
        processMetrics: false,
      });
      return ports(gateway);
    case 'reload':
      await running().reload(unpackConfig(c.config), track(c.shared));
      return ports(running());
    case 'dynamic':
      await running().setDynamicClusters(c.source, c.clusters, track(c.shared));
      return null;
    case 'ready':
      return running().notReady();
    case 'metrics':
      return running().metrics.registry.getMetricsAsJSON();
    case 'status':
      return running().status.json();
    case 'stop':
      await gateway?.stop(c.drainMs, c.delayMs);
      destination.flushSync();
      return null;
  }
}

port.on('message', (c: Command) => {
  run(c).then(
    (result) => port.postMessage({ id: c.id, ok: true, result } satisfies Reply),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      log.error({ kind: 'worker', command: c.type, err: e.message }, 'worker command failed');
      port.postMessage({ id: c.id, ok: false, error: { name: e.name, message: e.message } } satisfies Reply);
    },
  );
});
