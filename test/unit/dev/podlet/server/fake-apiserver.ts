import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createServer as createHttpsServer, get as httpsGet, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import type { TestPki } from './fixtures.ts';

// A stand-in kube-apiserver for driving the kubelet API with real kubectl: it serves discovery and
// the pod, proxies pods/log as a GET, and tunnels pods/exec|attach|portforward upgrades byte for
// byte to the kubelet after translating path and query, as the real one does.

const run = promisify(execFile);

export interface Kubelet {
  port: number;
  pki: TestPki;
}

/** Where CI builds kubectl (tools/control-plane/provide.sh prints the folder). */
export async function locateKubectl(): Promise<string> {
  const { stdout } = await run(
    'sh',
    [join(import.meta.dirname, '../../../../../tools/control-plane/provide.sh'), 'kubectl'],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return join(stdout.trim(), 'kubectl');
}

const POD = (ns: string, name: string) => ({
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { name, namespace: ns, uid: '6f1c2d5e-0000-4000-8000-000000000001' },
  spec: { containers: [{ name: 'c1', image: 'example/c1', stdin: true }] },
  status: { phase: 'Running' },
});

const DISCOVERY: Record<string, unknown> = {
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      {
        name: 'pods',
        singularName: 'pod',
        namespaced: true,
        kind: 'Pod',
        verbs: ['get', 'list'],
        shortNames: ['po'],
      },
      {
        name: 'pods/exec',
        singularName: '',
        namespaced: true,
        kind: 'PodExecOptions',
        verbs: ['create', 'get'],
      },
      {
        name: 'pods/portforward',
        singularName: '',
        namespaced: true,
        kind: 'PodPortForwardOptions',
        verbs: ['create', 'get'],
      },
      {
        name: 'pods/attach',
        singularName: '',
        namespaced: true,
        kind: 'PodAttachOptions',
        verbs: ['create', 'get'],
      },
    ],
  },
};

/** kube-apiserver's translation of pods/exec|attach|portforward into the kubelet's path and query. */
function kubeletPath(url: URL): string | null {
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(url.pathname);
  if (!m) return null;
  const [, ns, name, sub] = m;
  if (sub === 'portforward') return `/portForward/${ns}/${name}`;
  const q = new URLSearchParams();
  for (const c of url.searchParams.getAll('command')) q.append('command', c);
  const names = { stdin: 'input', stdout: 'output', stderr: 'error', tty: 'tty' } as const;
  for (const [from, to] of Object.entries(names)) if (url.searchParams.get(from) === 'true') q.set(to, '1');
  return `/${sub}/${ns}/${name}/${url.searchParams.get('container') ?? 'c1'}?${q}`;
}

/** pods/log: kube-apiserver proxies it as a plain GET to the kubelet's /containerLogs. */
function proxyLogs(url: URL, res: ServerResponse, kubelet: Kubelet): boolean {
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
  if (!m) return false;
  const q = new URLSearchParams(url.searchParams);
  q.delete('container');
  const path = `/containerLogs/${m[1]}/${m[2]}/${url.searchParams.get('container') ?? 'c1'}?${q}`;
  const up = httpsGet(
    {
      host: '127.0.0.1',
      port: kubelet.port,
      path,
      ca: kubelet.pki.ca,
      ...kubelet.pki.client,
      servername: 'localhost',
    },
    (r) => {
      res.writeHead(r.statusCode ?? 500, { 'Content-Type': 'text/plain' });
      r.pipe(res);
    },
  );
  up.once('error', () => res.destroy());
  return true;
}
export async function startFakeApiserver(
  kubelet: Kubelet,
): Promise<{ server: Server; port: number; offered: string[] }> {
  const offered: string[] = [];
  const apiserver = createHttpsServer({
    ...kubelet.pki.server,
    ca: kubelet.pki.ca,
    requestCert: true,
    rejectUnauthorized: true,
  });
  apiserver.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    if (proxyLogs(url, res, kubelet)) return;
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    const body = m ? POD(m[1], m[2]) : DISCOVERY[url.pathname];
    if (!body) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          code: 404,
        }),
      );
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  apiserver.on('upgrade', (req, socket, head) => {
    const path = kubeletPath(new URL(req.url ?? '/', 'https://x'));
    if (!path) return socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    offered.push(...(req.headersDistinct['x-stream-protocol-version'] ?? []));
    const up = tlsConnect(
      {
        host: '127.0.0.1',
        port: kubelet.port,
        ca: kubelet.pki.ca,
        ...kubelet.pki.client,
        servername: 'localhost',
      },
      () => {
        const lines = [`${req.method} ${path} HTTP/1.1`, 'Host: localhost'];
        for (const [k, vs] of Object.entries(req.headersDistinct)) {
          if (k !== 'host' && k !== 'authorization') for (const v of vs ?? []) lines.push(`${k}: ${v}`);
        }
        up.write(lines.join('\r\n') + '\r\n\r\n');
        up.write(head);
        socket.pipe(up);
        up.pipe(socket);
      },
    );
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  apiserver.listen(0, '127.0.0.1');
  await once(apiserver, 'listening');
  return { server: apiserver, port: (apiserver.address() as AddressInfo).port, offered };
}

/** A kubeconfig for the stand-in apiserver, with the test client certificate. */
export async function writeKubeconfig(pki: TestPki, port: number): Promise<string> {
  const kubeconfig = join(pki.dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: `https://127.0.0.1:${port}`,
            'certificate-authority': pki.files.ca,
          },
        },
      ],
      users: [
        {
          name: 'u',
          user: { 'client-certificate': pki.files.clientCert, 'client-key': pki.files.clientKey },
        },
      ],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'ns1' } }],
      'current-context': 'x',
    }),
  );
  return kubeconfig;
}
