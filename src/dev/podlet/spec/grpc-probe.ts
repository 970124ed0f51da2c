import type { V1GRPCAction } from '@kubernetes/client-node';
import { connect as h2connect, constants } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ProbeContext, ProbeResult } from './probe.ts';
import { PROBE_USER_AGENT, withTimeout } from './probe-net.ts';

// The gRPC health check (grpc.health.v1.Health/Check) over plaintext HTTP/2 to the pod IP, with the
// kubelet's result wording (pkg/probe/grpc). The protobuf messages are one field each, coded by hand.

const STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
const GRPC_UNIMPLEMENTED = '12';

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-prefixed HealthCheckRequest { service = 1 }. */
function requestFrame(service: string): Buffer {
  const s = Buffer.from(service, 'utf8');
  const msg = s.length ? Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]) : Buffer.alloc(0);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** HealthCheckResponse.status (field 1, varint) of the first message in `body`. */
function responseStatus(body: Buffer): number {
  if (body.length < 5) return 0;
  const msg = body.subarray(5, 5 + body.readUInt32BE(1));
  for (let i = 0; i < msg.length;) {
    const tag = msg[i++];
    let v = 0;
    for (let shift = 0; i < msg.length; shift += 7) {
      const b = msg[i++];
      v |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (tag === 0x08) return v;
    if ((tag & 7) === 2) i += v;
  }
  return 0;
}

export async function grpcProbe(
  action: V1GRPCAction,
  ctx: ProbeContext,
  timeoutMs: number,
): Promise<ProbeResult> {
  const service = action.service ?? '';
  const addr = `${ctx.podIP}:${action.port}`;
  const deadline = Date.now() + timeoutMs;
  const timeoutText = `${timeoutMs / 1000}s`;
  let sock: Duplex | null;
  const dialing = ctx.connect(ctx.podIP, action.port);
  try {
    sock = await withTimeout<Duplex | null>(dialing, timeoutMs, () => null);
  } catch (err) {
    return {
      ok: false,
      message: `timeout: failed to connect service "${addr}" within ${timeoutText}: ${(err as Error).message}`,
    };
  }
  if (!sock) {
    dialing.then(
      (s) => s.destroy(),
      () => {},
    );
    return {
      ok: false,
      message: `timeout: failed to connect service "${addr}" within ${timeoutText}: context deadline exceeded`,
    };
  }
  const conn = sock;
  return new Promise((resolve) => {
    const session = h2connect(`http://${addr}`, { createConnection: () => conn });
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, message: `timeout: health rpc did not complete within ${timeoutText}` }),
      Math.max(0, deadline - Date.now()),
    );
    session.on('error', (err) =>
      finish({ ok: false, message: `error: health rpc probe failed: ${err.message}` }),
    );
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': PROBE_USER_AGENT,
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    const take = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) grpcMessage = decodeURIComponent(String(h['grpc-message']));
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', (err) =>
      finish({ ok: false, message: `error: health rpc probe failed: ${err.message}` }),
    );
    req.on('end', () => {
      if (grpcStatus === GRPC_UNIMPLEMENTED) {
        return finish({
          ok: false,
          message: `timeout: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${grpcMessage}`,
        });
      }
      if (grpcStatus !== '0') {
        return finish({
          ok: false,
          message: `error: health rpc probe failed: rpc error: code = ${grpcStatus ?? 'Unknown'} desc = ${grpcMessage}`,
        });
      }
      const status = responseStatus(Buffer.concat(chunks));
      if (status !== 1) {
        return finish({
          ok: false,
          message: `service unhealthy (responded with "${STATUS_NAMES[status] ?? status}")`,
        });
      }
      finish({ ok: true, message: 'service healthy' });
    });
    req.end(requestFrame(service));
  });
}
