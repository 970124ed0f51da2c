import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { protoFields } from '../../unit/gatewayapi/grpc/grpc-call.ts';
import { kubectl } from '../env.ts';
import { gatewayAddress, underlayNetns } from './lab-http.ts';

const run = promisify(execFile);
const MANIFEST = fileURLToPath(new URL('./testdata/grpc-echo.yaml', import.meta.url));
const CLIENT = fileURLToPath(new URL('./grpc-lab-call.ts', import.meta.url));
const SERVICE = '/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho';

interface Call {
  code: number;
  message: string;
  httpStatus: number;
  messages: string[];
}

/** A unary call from the lab's underlay namespace. */
async function call(address: string, method: string, metadata: Record<string, string> = {}): Promise<Call> {
  const { stdout } = await run(
    'ip',
    [
      'netns',
      'exec',
      underlayNetns(),
      process.execPath,
      CLIENT,
      `http://${address}`,
      `${SERVICE}/${method}`,
      'grpc.example.com',
      JSON.stringify(metadata),
    ],
    { timeout: 15_000 },
  );
  return JSON.parse(stdout) as Call;
}

async function eventually(address: string, method: string, ok: (c: Call) => boolean): Promise<Call> {
  const deadline = Date.now() + 90_000;
  let last: Call | string = 'no answer';
  while (Date.now() < deadline) {
    try {
      const c = await call(address, method);
      if (ok(c)) return c;
      last = c;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${method}: not as expected within 90s; last: ${JSON.stringify(last)}`);
}

/** The EchoResponse's assertions: method, request headers, serving pod (grpcecho.proto). */
function assertions(c: Call): {
  method: string;
  headers: Map<string, string[]>;
  pod: string;
  namespace: string;
} {
  const response = protoFields(Buffer.from(c.messages[0], 'base64'));
  const a = protoFields(response.get(1)![0]);
  const headers = new Map<string, string[]>();
  for (const h of a.get(2) ?? []) {
    const f = protoFields(h);
    const key = f.get(1)![0].toString().toLowerCase();
    headers.set(key, [...(headers.get(key) ?? []), f.get(2)?.[0].toString() ?? '']);
  }
  const context = protoFields(a.get(4)![0]);
  return {
    method: a.get(1)![0].toString(),
    headers,
    pod: context.get(4)?.[0].toString() ?? '',
    namespace: context.get(1)?.[0].toString() ?? '',
  };
}

test('a GRPCRoute through a real Gateway: calls reach the echo pods over h2c, headers modified, no route is UNIMPLEMENTED', async () => {
  after(() =>
    kubectl('gateway.kubeconfig', ['delete', '-f', MANIFEST, '--wait=false']).catch(() => undefined),
  );
  await kubectl('gateway.kubeconfig', ['apply', '-f', MANIFEST]);
  const address = await gatewayAddress('default', 'grpc');
  await kubectl('gateway.kubeconfig', ['rollout', 'status', 'deployment/grpc-echo', '--timeout=90s']);

  const seen = new Set<string>();
  for (let i = 0; i < 20 && seen.size < 2; i++) {
    const c = await eventually(address, 'Echo', (x) => x.code === 0);
    assert.equal(c.httpStatus, 200);
    const a = assertions(c);
    assert.equal(a.method, `${SERVICE}/Echo`);
    assert.equal(a.namespace, 'default');
    assert.deepEqual(a.headers.get('x-served-by'), ['kubegate']);
    assert.match(a.pod, /^grpc-echo-/);
    seen.add(a.pod);
  }
  assert.equal(seen.size, 2, 'both echo pods answer');

  // EchoTwo is its own named rule, without the header filter.
  const two = assertions(await eventually(address, 'EchoTwo', (x) => x.code === 0));
  assert.equal(two.method, `${SERVICE}/EchoTwo`);
  assert.equal(two.headers.get('x-served-by'), undefined);

  // EchoThree matches no rule: the gateway answers UNIMPLEMENTED itself, as a gRPC status.
  const three = await eventually(address, 'EchoThree', (x) => x.code !== -1);
  assert.equal(three.httpStatus, 200);
  assert.equal(three.code, 12);

  const route = JSON.parse(
    await kubectl('gateway.kubeconfig', ['get', 'grpcroute', 'grpc-echo', '-o', 'json']),
  ) as {
    status: { parents: { controllerName: string; conditions: { type: string; status: string }[] }[] };
  };
  const parent = route.status.parents.find((p) => p.controllerName === 'kubegate.io/gateway-controller');
  assert.ok(parent, 'the route has kubegate as a parent');
  for (const t of ['Accepted', 'ResolvedRefs'])
    assert.equal(parent.conditions.find((c) => c.type === t)?.status, 'True', `${t} is True`);
  const gw = JSON.parse(await kubectl('gateway.kubeconfig', ['get', 'gateway', 'grpc', '-o', 'json'])) as {
    status: { listeners: { name: string; attachedRoutes: number }[] };
  };
  assert.equal(gw.status.listeners.find((l) => l.name === 'grpc')?.attachedRoutes, 1);
});
