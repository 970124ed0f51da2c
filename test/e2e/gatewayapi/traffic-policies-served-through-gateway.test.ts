// TrafficPolicy through the real API server and a real Gateway to podlet echo pods: each policy
// field answers with its status from the lab's underlay, and the policies' statuses are written.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { kubectl } from '../env.ts';
import { echoBackend, httpGateway, prefixRule, trafficPolicy } from './echo-objects.ts';
import { gatewayAddress, underlayNetns, type LabResponse } from './lab-http.ts';

const run = promisify(execFile);
const HOST = 'policies.example.com';
const htpasswd = `alice:{SHA}${createHash('sha1').update('wonderland').digest('base64')}\n`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const ALICE = `Basic ${b64('alice:wonderland')}`;
const GATEWAY_REF = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'policies' };

const rule = (name: string, path: string) => prefixRule(name, path, 'echo-policies');

const OBJECTS = [
  ...echoBackend('echo-policies'),
  httpGateway('policies'),
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'policies', namespace: 'default' },
    spec: {
      parentRefs: [{ name: 'policies' }],
      hostnames: [HOST],
      rules: [
        rule('admin', '/admin'),
        rule('ip', '/ip'),
        rule('upload', '/upload'),
        rule('broken', '/broken'),
        rule('limited', '/limited'),
        rule('rest', '/'),
      ],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: 'policy-users', namespace: 'default' },
    data: { '.htpasswd': b64(htpasswd) },
  },
  {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: 'policy-keys', namespace: 'default' },
    data: { ci: b64('k-123') },
  },
  trafficPolicy('route-basic', {
    targetRefs: [GATEWAY_REF],
    basicAuth: { secretRef: { name: 'policy-users' } },
  }),
  trafficPolicy('admin-keys', {
    targetRefs: [{ ...GATEWAY_REF, sectionName: 'admin' }],
    apiKeyAuth: { secretRef: { name: 'policy-keys' }, stripHeader: true },
  }),
  // The underlay (where the client sits) is 10.250.0.0/24.
  trafficPolicy('ip-deny', {
    targetRefs: [{ ...GATEWAY_REF, sectionName: 'ip' }],
    ipFilter: { deny: ['10.250.0.0/16'] },
  }),
  trafficPolicy('upload-limit', {
    targetRefs: [{ ...GATEWAY_REF, sectionName: 'upload' }],
    requestBodyLimit: { maxBytes: 16 },
  }),
  trafficPolicy('limited', {
    targetRefs: [{ ...GATEWAY_REF, sectionName: 'limited' }],
    localRateLimit: { tokens: 2, fillInterval: '1m' },
  }),
  trafficPolicy('missing-secret', {
    targetRefs: [{ ...GATEWAY_REF, sectionName: 'broken' }],
    basicAuth: { secretRef: { name: 'no-such-secret' } },
  }),
  trafficPolicy('ghost', {
    targetRefs: [{ ...GATEWAY_REF, name: 'ghost' }],
    requestBodyLimit: { maxBytes: 1 },
  }),
];

/** One request with curl from the underlay namespace; `body` is POSTed. */
async function request(address: string, path: string, headers: Record<string, string>, body?: string) {
  const args = [
    'netns',
    'exec',
    underlayNetns(),
    'curl',
    '-sS',
    '-m',
    '5',
    '-D',
    '-',
    '-o',
    '-',
    '-H',
    `Host: ${HOST}`,
  ];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (body !== undefined) args.push('--data-binary', body);
  args.push(`http://${address}${path}`);
  const { stdout } = await run('ip', args, { timeout: 10_000 });
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, split).split('\r\n');
  const out: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    out[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return {
    status: Number(head[0].split(' ')[1]),
    headers: out,
    body: stdout.slice(split + 4),
  } as LabResponse;
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

interface PolicyStatus {
  status?: {
    ancestors?: {
      controllerName: string;
      conditions: { type: string; status: string; reason: string; message: string }[];
    }[];
  };
}

const accepted = (name: string) =>
  until(
    `TrafficPolicy ${name} status`,
    async () => {
      const p = JSON.parse(
        await kubectl('gateway.kubeconfig', ['get', 'trafficpolicy', name, '-o', 'json']),
      ) as PolicyStatus;
      return p.status?.ancestors?.find((a) => a.controllerName === 'kubegate.io/gateway-controller')
        ?.conditions[0];
    },
    (c) => c !== undefined,
  );

test('TrafficPolicies applied through the API server are enforced by the Gateway and report their status', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-traffic-policies-'));
  const file = join(dir, 'objects.json');
  await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: OBJECTS }));
  after(async () => {
    await kubectl('gateway.kubeconfig', ['delete', '-f', file, '--wait=false']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await kubectl('gateway.kubeconfig', ['apply', '-f', file]);
  const address = await gatewayAddress('default', 'policies');
  await kubectl('gateway.kubeconfig', ['rollout', 'status', 'deployment/echo-policies', '--timeout=90s']);

  // basicAuth on the whole route.
  const challenged = await until(
    '401 without credentials',
    () => request(address, '/', {}),
    (r) => r.status === 401,
  );
  assert.match(challenged.headers['www-authenticate'] ?? '', /^Basic realm="kubegate"/);
  const forged = await request(address, '/', { Authorization: `Basic ${b64('alice:guess')}` });
  assert.equal(forged.status, 401);
  const malformed = await request(address, '/', { Authorization: 'Basic %%%' });
  assert.equal(malformed.status, 401);
  const ok = await until(
    '200 for alice',
    () => request(address, '/', { Authorization: ALICE }),
    (r) => r.status === 200,
  );
  assert.match(ok.body, /"pod":\s*"echo-policies-/);

  // apiKeyAuth on the admin rule (with the route's basicAuth), the key stripped before the pod.
  assert.equal((await request(address, '/admin', { Authorization: ALICE })).status, 401);
  assert.equal(
    (await request(address, '/admin', { Authorization: ALICE, 'X-Api-Key': 'k-999' })).status,
    401,
  );
  const admin = await request(address, '/admin', { Authorization: ALICE, 'X-Api-Key': 'k-123' });
  assert.equal(admin.status, 200);
  const echoed = JSON.parse(admin.body) as { headers: Record<string, string[]> };
  assert.equal(echoed.headers['X-Api-Key'], undefined);

  // ipFilter: the underlay client is denied whatever X-Forwarded-For claims.
  assert.equal((await request(address, '/ip', { Authorization: ALICE })).status, 403);
  assert.equal(
    (await request(address, '/ip', { Authorization: ALICE, 'X-Forwarded-For': '192.0.2.1' })).status,
    403,
  );

  // requestBodyLimit.
  assert.equal((await request(address, '/upload', { Authorization: ALICE }, '0123456789')).status, 200);
  assert.equal((await request(address, '/upload', { Authorization: ALICE }, 'x'.repeat(100))).status, 413);

  // localRateLimit: two tokens a minute for the underlay client.
  for (let i = 0; i < 2; i++)
    assert.equal((await request(address, '/limited', { Authorization: ALICE })).status, 200);
  const limited = await request(address, '/limited', { Authorization: ALICE });
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers['retry-after']) >= 1);

  // A missing Secret fails closed on its target and leaves the rest serving.
  assert.equal((await request(address, '/broken', { Authorization: ALICE })).status, 401);
  assert.equal((await request(address, '/', { Authorization: ALICE })).status, 200);

  const good = await accepted('route-basic');
  assert.equal(good?.status, 'True');
  const invalid = await accepted('missing-secret');
  assert.equal(invalid?.reason, 'Invalid');
  assert.match(invalid?.message ?? '', /Secret default\/no-such-secret not found/);
  const ghost = await accepted('ghost');
  assert.equal(ghost?.reason, 'TargetNotFound');
});
