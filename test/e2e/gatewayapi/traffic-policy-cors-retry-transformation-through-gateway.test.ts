// TrafficPolicy `cors`, `retry`, `timeouts` and `transformation` (headers and bodies) through the
// real API server and a real Gateway to a podlet echo pod (the conformance echo-basic, whose /retry/
// fails a given number of times per uuid), from the lab's underlay; and an invalid field's status.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { kubectl } from '../env.ts';
import { echoBackend, httpGateway, prefixRule, trafficPolicy } from './echo-objects.ts';
import { gatewayAddress, underlayNetns, type LabResponse } from './lab-http.ts';

const run = promisify(execFile);
const HOST = 'extras.example.com';
const ORIGIN = 'https://app.example.com';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const ALICE = `Basic ${b64('alice:wonderland')}`;
const htpasswd = `alice:{SHA}${createHash('sha1').update('wonderland').digest('base64')}\n`;
const ROUTE = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'extras' };
const REQUEST_BODY = 'replaced request';
const RESPONSE_BODY = 'kubegate says hi\n';

const rule = (name: string, path: string) => prefixRule(name, path, 'echo-extras');

const OBJECTS = [
  ...echoBackend('echo-extras'),
  httpGateway('extras'),
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'extras', namespace: 'default' },
    spec: {
      parentRefs: [{ name: 'extras' }],
      hostnames: [HOST],
      rules: [
        rule('cors', '/cors'),
        rule('retry', '/retry'),
        rule('slow', '/slow'),
        rule('body-in', '/body-in'),
        rule('body-out', '/body-out'),
        rule('rest', '/'),
      ],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: 'extras-users', namespace: 'default' },
    data: { '.htpasswd': b64(htpasswd) },
  },
  trafficPolicy('extras-cors', {
    targetRefs: [{ ...ROUTE, sectionName: 'cors' }],
    cors: {
      allowOrigins: [ORIGIN],
      allowMethods: ['GET', 'PUT'],
      allowHeaders: ['authorization'],
      maxAge: 60,
    },
    basicAuth: { secretRef: { name: 'extras-users' } },
  }),
  trafficPolicy('extras-retry', {
    targetRefs: [{ ...ROUTE, sectionName: 'retry' }],
    retry: { attempts: 2, retryOn: ['gateway-error'], backoff: { base: '10ms' } },
  }),
  trafficPolicy('extras-slow', {
    targetRefs: [{ ...ROUTE, sectionName: 'slow' }],
    timeouts: { request: '500ms' },
  }),
  trafficPolicy('extras-headers', {
    targetRefs: [ROUTE],
    transformation: {
      requestHeaders: {
        set: [
          { name: 'X-Env', value: 'policy' },
          { name: 'X-Client', value: '%CLIENT_IP%' },
        ],
        remove: ['X-Internal'],
      },
      responseHeaders: { add: [{ name: 'X-Served-By', value: 'kubegate' }], remove: ['X-Backend-Secret'] },
    },
  }),
  trafficPolicy('extras-body-in', {
    targetRefs: [{ ...ROUTE, sectionName: 'body-in' }],
    transformation: { requestBody: { set: REQUEST_BODY } },
  }),
  trafficPolicy('extras-body-out', {
    targetRefs: [{ ...ROUTE, sectionName: 'body-out' }],
    transformation: { responseBody: { set: RESPONSE_BODY } },
  }),
  trafficPolicy('extras-bad-variable', {
    targetRefs: [{ ...ROUTE, sectionName: 'slow' }],
    transformation: {
      requestHeaders: { set: [{ name: 'X-Secret', value: '%ENV_SECRET%' }] },
      // Within the CRD's maxLength (characters), over the 64 KiB limit in UTF-8 bytes.
      requestBody: { set: 'é'.repeat(32_769) },
    },
  }),
];

/** One request with curl from the underlay namespace. */
async function request(
  address: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
  data?: string,
): Promise<LabResponse> {
  const args = [
    'netns',
    'exec',
    underlayNetns(),
    'curl',
    '-sS',
    '-m',
    '8',
    '-D',
    '-',
    '-o',
    '-',
    '-X',
    method,
  ];
  args.push('-H', `Host: ${HOST}`);
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (data !== undefined) args.push('--data-binary', data);
  args.push(`http://${address}${path}`);
  const { stdout } = await run('ip', args, { timeout: 12_000 });
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, split).split('\r\n');
  const out: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).toLowerCase();
    const value = line.slice(i + 1).trim();
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return { status: Number(head[0].split(' ')[1]), headers: out, body: stdout.slice(split + 4) };
}

async function until<T>(
  what: string,
  f: () => Promise<T>,
  ok: (x: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = 'nothing';
  while (Date.now() < deadline) {
    try {
      const x = await f();
      if (ok(x)) return x;
      last = x;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not as expected within ${timeoutMs / 1000}s; last: ${JSON.stringify(last)}`);
}

interface Condition {
  status: string;
  reason: string;
  message: string;
}

const condition = (name: string): Promise<Condition> =>
  until<Condition | undefined>(
    `TrafficPolicy ${name} status`,
    async () => {
      const p = JSON.parse(
        await kubectl('gateway.kubeconfig', ['get', 'trafficpolicy', name, '-o', 'json']),
      ) as {
        status?: { ancestors?: { controllerName: string; conditions: Condition[] }[] };
      };
      return p.status?.ancestors?.find((a) => a.controllerName === 'kubegate.io/gateway-controller')
        ?.conditions[0];
    },
    (c) => c !== undefined,
  ).then((c) => c!);

test('CORS, retries, timeouts and header and body transformation from TrafficPolicies are served by the Gateway', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-traffic-policy-extras-'));
  const file = join(dir, 'objects.json');
  await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: OBJECTS }));
  after(async () => {
    await kubectl('gateway.kubeconfig', ['delete', '-f', file, '--wait=false']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await kubectl('gateway.kubeconfig', ['apply', '-f', file]);
  const address = await gatewayAddress('default', 'extras');
  await kubectl('gateway.kubeconfig', ['rollout', 'status', 'deployment/echo-extras', '--timeout=90s']);

  // Transformation: request headers set and removed before the pod, response headers after it.
  const echoed = await until(
    'the transformed request at the pod',
    () =>
      request(address, '/hello', {
        'X-Env': 'client',
        'X-Internal': 'secret',
        'X-Echo-Set-Header': 'X-Backend-Secret:leak',
      }),
    (r) => r.status === 200 && r.headers['x-served-by'] === 'kubegate',
  );
  const seen = (JSON.parse(echoed.body) as { headers: Record<string, string[]> }).headers;
  assert.deepEqual(seen['X-Env'], ['policy']);
  assert.match(seen['X-Client']?.[0] ?? '', /^10\.250\.0\.\d+$/);
  assert.equal(seen['X-Internal'], undefined);
  assert.equal(echoed.headers['x-backend-secret'], undefined);

  // Bodies: the pod gets the policy's literal (its length), the client the other policy's.
  const lengthAtPod = (r: LabResponse) =>
    r.status === 200 && r.body.startsWith('{')
      ? (JSON.parse(r.body) as { headers: Record<string, string[]> }).headers['Content-Length']
      : undefined;
  const bodyIn = await until(
    'the replaced request body at the pod',
    () => request(address, '/body-in', { 'Content-Type': 'text/plain' }, 'POST', 'the original body'),
    (r) => lengthAtPod(r) !== undefined && lengthAtPod(r)?.[0] !== String('the original body'.length),
  );
  assert.deepEqual(lengthAtPod(bodyIn), [String(REQUEST_BODY.length)]);
  const bodyOut = await until(
    'the replaced response body',
    () => request(address, '/body-out'),
    (r) => r.status === 200 && r.body === RESPONSE_BODY,
  );
  assert.equal(bodyOut.headers['content-length'], String(RESPONSE_BODY.length));

  // CORS: the preflight is answered by the gateway before basicAuth; the actual request needs it.
  const preflight = await until(
    'a preflight answered with CORS headers',
    () =>
      request(
        address,
        '/cors',
        {
          Origin: ORIGIN,
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'authorization',
        },
        'OPTIONS',
      ),
    (r) => r.status === 204 && r.headers['access-control-allow-origin'] === ORIGIN,
  );
  assert.equal(preflight.headers['access-control-allow-methods'], 'GET, PUT');
  assert.equal(preflight.headers['access-control-max-age'], '60');
  assert.equal(preflight.headers['www-authenticate'], undefined);
  const stranger = await request(
    address,
    '/cors',
    { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'PUT' },
    'OPTIONS',
  );
  assert.equal(stranger.status, 204);
  assert.equal(stranger.headers['access-control-allow-origin'], undefined);
  assert.equal((await request(address, '/cors', { Origin: ORIGIN }, 'PUT')).status, 401);
  const actual = await request(address, '/cors', { Origin: ORIGIN, Authorization: ALICE }, 'PUT');
  assert.equal(actual.status, 200);
  assert.equal(actual.headers['access-control-allow-origin'], ORIGIN);

  // Retry: two 503s are retried away; five are not, and the last 503 is the answer.
  const retried = await until(
    'a retried request',
    () => request(address, `/retry/?uuid=${randomUUID()}&succeedAfter=2&responseCode=503`),
    (r) => r.status !== 404,
  );
  assert.equal(retried.status, 200);
  const exhausted = await request(address, `/retry/?uuid=${randomUUID()}&succeedAfter=5&responseCode=503`);
  assert.equal(exhausted.status, 503);

  // Timeouts: the policy's request timeout answers 504 for a slow pod.
  assert.equal((await request(address, '/slow?delay=3s')).status, 504);
  assert.equal((await request(address, '/slow')).status, 200);

  for (const name of [
    'extras-cors',
    'extras-retry',
    'extras-slow',
    'extras-headers',
    'extras-body-in',
    'extras-body-out',
  ])
    assert.equal((await condition(name)).reason, 'Accepted', name);
  const bad = await condition('extras-bad-variable');
  assert.equal(bad.reason, 'Invalid');
  assert.match(bad.message, /transformation\.requestHeaders\.set\[0\]\.value: unknown variable %ENV_SECRET%/);
  assert.match(bad.message, /transformation\.requestBody\.set must be text of at most 65536 bytes/);
});
