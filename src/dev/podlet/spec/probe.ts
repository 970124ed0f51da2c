import type { V1ContainerPort, V1Probe } from '@kubernetes/client-node';
import type { Duplex } from 'node:stream';
import { grpcProbe } from './grpc-probe.ts';
import { httpProbe } from './http-probe.ts';
import { hostPort, MAX_OUTPUT, netError, resolvePort, withTimeout } from './probe-net.ts';

export { PROBE_USER_AGENT, resolvePort } from './probe-net.ts';

// One run of a container probe, as the kubelet's prober does it (pkg/probe/{http,tcp,exec,grpc}).

export interface ProbeContext {
  readonly podIP: string;
  readonly containerPorts: readonly V1ContainerPort[];
  /** A TCP connection from inside the pod's network namespace. */
  connect(host: string, port: number): Promise<Duplex>;
  /** Runs a command in the container; resolves with its exit code and combined output. */
  exec(argv: string[], timeoutMs: number): Promise<{ code: number; output: string }>;
}

export interface ProbeResult {
  readonly ok: boolean;
  /** The kubelet's probe output: the failure reason, or what a successful probe said. */
  readonly message: string;
}

async function tcpProbe(
  host: string,
  port: number,
  ctx: ProbeContext,
  timeoutMs: number,
): Promise<ProbeResult> {
  const hp = hostPort(host, port);
  let timedOut = false;
  const conn = ctx.connect(host, port);
  try {
    const sock = await withTimeout<Duplex | null>(conn, timeoutMs, () => ((timedOut = true), null));
    if (!sock) return { ok: false, message: `dial tcp ${hp}: i/o timeout` };
    sock.destroy();
    return { ok: true, message: '' };
  } catch (err) {
    return { ok: false, message: `dial tcp ${hp}: ${netError(err)}` };
  } finally {
    if (timedOut)
      conn.then(
        (s) => s.destroy(),
        () => {},
      );
  }
}

async function execProbe(argv: string[], ctx: ProbeContext, timeoutMs: number): Promise<ProbeResult> {
  const timedOut = `command "${argv.join(' ')}" timed out`;
  try {
    const res = await withTimeout(ctx.exec(argv, timeoutMs), timeoutMs, () => null);
    if (!res) return { ok: false, message: timedOut };
    return { ok: res.code === 0, message: res.output.slice(0, MAX_OUTPUT) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

/** Runs `probe` once, giving up after its `timeoutSeconds` (default 1). */
export async function runProbe(probe: V1Probe, ctx: ProbeContext): Promise<ProbeResult> {
  const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) return execProbe(probe.exec.command ?? [], ctx, timeoutMs);
  if (probe.httpGet) return httpProbe(probe.httpGet, ctx, timeoutMs);
  if (probe.tcpSocket) {
    const host = probe.tcpSocket.host || ctx.podIP;
    let port: number;
    try {
      port = resolvePort(probe.tcpSocket.port, ctx.containerPorts);
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
    return tcpProbe(host, port, ctx, timeoutMs);
  }
  if (probe.grpc) return grpcProbe(probe.grpc, ctx, timeoutMs);
  return { ok: false, message: 'missing probe handler' };
}
