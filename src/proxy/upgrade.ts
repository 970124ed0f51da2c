import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import type { Duplex } from 'node:stream';
import { impersonationHeaders } from '../auth/index.ts';
import { GatewayError } from '../errors.ts';
import type { AccessRecord } from '../observe/access-log.ts';
import { tracer } from '../observe/tracing.ts';
import { parseRequestInfo } from '../request/request-info.ts';
import { appendHeader, authenticationInput } from './client-credentials.ts';
import { socketConnection } from './connection.ts';
import type { Permit } from '../policy/index.ts';
import type { Gateway } from './context.ts';
import { admitRequest } from './stages.ts';
import { selectByPath } from '../clustergateway/select.ts';
import { isDroppedRequestHeader } from './headers.ts';
import { assertOriginForm, originForm } from './request-target.ts';
import { jitteredRetryAfter, toGatewayError } from './status.ts';

/**
 * exec, attach, port-forward and proxy over HTTP/1.1 `Upgrade` (SPDY/3.1, WebSocket): the request
 * goes upstream on its own HTTP/1.1 connection with the gateway's credential and impersonation
 * headers; after the upstream's 101 both sides are joined into a raw byte tunnel. Any other answer
 * is relayed as it came and the connection closed, so no second request can ride the gateway's
 * identity unauthenticated.
 */
export async function tunnelUpgrade(
  gw: Gateway,
  clusterName: string,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  misdirected: GatewayError | null = null,
): Promise<void> {
  const start = performance.now();
  const url = originForm(req.url ?? '/');
  const info = parseRequestInfo(req.method ?? 'GET', url);
  const record: AccessRecord = {
    method: req.method ?? '', uri: url, protocol: 'http/1.1', client: req.socket.remoteAddress ?? '', cluster: clusterName, info,
    identity: null, rule: null, upstream: null, status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0, auditID: null, error: null, code: null, retried: false,
  }; // prettier-ignore
  // The span ends when the tunnel (or the relayed answer) closes.
  selectByPath(gw, record); // kubegate's own API has no upgrades: an `api` path goes on to a 404
  const trace = tracer === null ? null : tracer.start(record, req.headers);
  socket.on('error', () => {});
  let permit: Permit | null = null;
  socket.once('close', () => {
    permit?.release();
    record.durationMs = performance.now() - start;
    trace?.end(record);
    gw.accessLog.write(record);
  });
  try {
    if (misdirected !== null) throw misdirected;
    assertOriginForm(url);
    const left = {
      leftSignal(): AbortSignal {
        const c = new AbortController();
        if (socket.destroyed) c.abort();
        else socket.once('close', () => c.abort());
        return c.signal;
      },
    };
    const input = authenticationInput(
      socketConnection(req.socket),
      req.headers.authorization,
      req.rawHeaders,
    );
    // A front proxy (an aggregating apiserver) reaches only the ClusterGateway proxy path.
    if (
      record.cluster === clusterName &&
      gw.cluster(clusterName)?.authenticator.isFrontProxied(input.certificate)
    )
      throw new GatewayError(
        'KG_NOT_FOUND',
        'NotFound',
        `kubegate serves only /apis/cluster.core.oam.dev/v1alpha1 to a front proxy, not ${record.info.path}`,
      );
    const {
      cluster,
      policy,
      permit: p,
    } = await admitRequest(gw, clusterName, record, input, true, left, trace);
    permit = p;
    if (socket.destroyed) permit.release();
    const outcome = (ok: boolean) => {
      if (!policy.exempt) cluster.breaker.record({ ok, latencyMs: performance.now() - start });
    };
    const ep = cluster.upstream.pick(true, undefined, policy.subset ?? undefined);
    if (!ep)
      throw new GatewayError(
        'KG_NO_HEALTHY_UPSTREAM',
        'ServiceUnavailable',
        'no healthy kube-apiserver endpoint is available',
        { retryAfter: jitteredRetryAfter() },
      );
    record.upstream = ep.name;
    trace?.picked(ep.name);

    const headers: Record<string, string | string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i].toLowerCase();
      if (isDroppedRequestHeader(name) && name !== 'upgrade' && name !== 'connection') continue;
      appendHeader(headers, name, req.rawHeaders[i + 1]);
    }
    headers.host = ep.url.host;
    if (cluster.upstreamToken) headers.authorization = `Bearer ${cluster.upstreamToken}`;
    for (const [k, v] of impersonationHeaders(record.identity!)) appendHeader(headers, k, v);
    const call = trace === null ? null : trace.upstream(ep.name, ep.url, headers);

    const { ca, cert, key, servername, insecure } = cluster.upstreamTLS;
    const up = request({
      host: ep.url.hostname, port: ep.url.port, method: req.method, path: record.uri, headers, cert, key, servername,
      ca: insecure ? undefined : ca, rejectUnauthorized: insecure !== true, agent: false,
    }); // prettier-ignore
    ep.longRunning++;
    let counted = true;
    const done = () => {
      if (counted) ep.longRunning--;
      counted = false;
    };
    up.once('upgrade', (res, upSocket, upHead) => {
      record.status = res.statusCode ?? 101;
      call?.response(record.status);
      outcome(true);
      record.auditID = single(res.headers['audit-id']);
      socket.write(rawHead(res));
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      upSocket.on('data', (c: Buffer) => (record.bytesOut += c.length));
      socket.on('data', (c: Buffer) => (record.bytesIn += c.length));
      upSocket.pipe(socket).pipe(upSocket);
      const close = () => {
        done();
        upSocket.destroy();
        socket.destroy();
      };
      upSocket.once('close', close);
      upSocket.on('error', close);
      socket.once('close', close);
    });
    up.once('response', (res) => {
      record.status = res.statusCode ?? 0;
      call?.response(record.status);
      outcome(record.status < 500);
      record.auditID = single(res.headers['audit-id']);
      const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const n = res.rawHeaders[i].toLowerCase();
        if (n === 'connection' || n === 'transfer-encoding' || n === 'keep-alive') continue;
        lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      }
      lines.push('connection: close');
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      res.on('data', (c: Buffer) => (record.bytesOut += c.length));
      res.pipe(socket);
      res.once('end', done);
    });
    up.once('error', (err) => {
      done();
      if (record.status === 0) outcome(false);
      record.error = err.message;
      call?.end(err.message);
      writeStatus(
        socket,
        new GatewayError(
          'KG_UPSTREAM_UNREACHABLE',
          'ServiceUnavailable',
          `kube-apiserver ${ep.name} failed: ${err.message}`,
          { retryAfter: jitteredRetryAfter() },
        ),
        record,
      );
    });
    socket.once('close', () => up.destroy());
    up.end();
  } catch (err) {
    const ge = toGatewayError(err);
    record.error = ge.code === 'KG_INTERNAL' ? `${ge.message}: ${String(ge.cause)}` : ge.message;
    writeStatus(socket, ge, record);
  }
}

function writeStatus(socket: Duplex, err: GatewayError, record: AccessRecord): void {
  if (socket.destroyed) return;
  record.status = err.status;
  record.code ??= err.code;
  const body = JSON.stringify(err.toStatus());
  const retry = err.retryAfter !== undefined ? `retry-after: ${err.retryAfter}\r\n` : '';
  socket.end(
    `HTTP/1.1 ${err.status} ${err.reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${retry}connection: close\r\n\r\n${body}`,
  );
}

function rawHead(res: IncomingMessage): string {
  const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
  for (let i = 0; i < res.rawHeaders.length; i += 2)
    lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

function single(v: string | string[] | undefined): string | null {
  return (Array.isArray(v) ? v[0] : v) ?? null;
}
