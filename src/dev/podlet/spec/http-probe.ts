import type { V1HTTPGetAction } from '@kubernetes/client-node';
import { request } from 'node:http';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ProbeContext, ProbeResult } from './probe.ts';
import { hostPort, MAX_OUTPUT, netError, PROBE_USER_AGENT, resolvePort } from './probe-net.ts';

// The HTTP(S) GET probe (pkg/probe/http): the request goes over the connection ctx.connect opens
// from inside the pod's network namespace; HTTPS does not verify the certificate, as the kubelet.
// 2xx succeeds; 3xx succeeds too (the kubelet follows same-host redirects, this does not: it reports
// success with the kubelet's "Probe terminated redirects" warning output).

function probeHeaders(action: V1HTTPGetAction): Record<string, string | string[]> {
  const headers: Record<string, string[]> = {};
  const names = new Map<string, string>();
  for (const h of action.httpHeaders ?? []) {
    const key = names.get(h.name.toLowerCase()) ?? h.name;
    names.set(h.name.toLowerCase(), key);
    (headers[key] ??= []).push(h.value);
  }
  if (!names.has('user-agent')) headers['User-Agent'] = [PROBE_USER_AGENT];
  if (!names.has('accept')) headers['Accept'] = ['*/*'];
  return headers;
}

export function httpProbe(
  action: V1HTTPGetAction,
  ctx: ProbeContext,
  timeoutMs: number,
): Promise<ProbeResult> {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  const host = action.host || ctx.podIP;
  let port: number;
  try {
    port = resolvePort(action.port, ctx.containerPorts);
  } catch (err) {
    return Promise.resolve({ ok: false, message: (err as Error).message });
  }
  const path = !action.path ? '/' : action.path.startsWith('/') ? action.path : `/${action.path}`;
  const url = `${scheme}://${hostPort(host, port)}${path}`;
  return new Promise((resolve) => {
    let dialed = false;
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
        }),
      timeoutMs,
    );
    const req = request({
      host,
      port,
      path,
      method: 'GET',
      headers: probeHeaders(action),
      createConnection: (_opts, cb) => {
        ctx
          .connect(host, port)
          .then((sock) => {
            dialed = true;
            if (done) return sock.destroy();
            if (scheme !== 'https') return cb(null, sock as never);
            const servername = isIP(host) ? undefined : host;
            const tls = tlsConnect({
              socket: sock,
              rejectUnauthorized: false,
              servername,
              ALPNProtocols: ['http/1.1'],
            });
            cb(null, tls as never);
          })
          .catch((err: unknown) =>
            finish({
              ok: false,
              message: `Get "${url}": dial tcp ${hostPort(host, port)}: ${netError(err)}`,
            }),
          );
        return undefined;
      },
    });
    req.on('error', (err) => {
      const message = dialed ? netError(err) : `dial tcp ${hostPort(host, port)}: ${netError(err)}`;
      finish({ ok: false, message: `Get "${url}": ${message}` });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_OUTPUT) chunks.push(c);
        size += c.length;
        if (size >= MAX_OUTPUT) res.emit('end');
      });
      res.on('error', () => res.emit('end'));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).subarray(0, MAX_OUTPUT).toString('utf8');
        if (status >= 200 && status < 300) finish({ ok: true, message: body });
        else if (status >= 300 && status < 400) {
          finish({ ok: true, message: `Probe terminated redirects, Response body: ${body}` });
        } else finish({ ok: false, message: `HTTP probe failed with statuscode: ${status}` });
      });
    });
    req.end();
  });
}
