import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { devDir, kubectl, kubectlPath } from './env.ts';

// The same scripted kubectl session runs once through the gateway and once straight to
// apiserver-0, each in its own namespace; outputs must be equal once volatile fields are normalised.

const VOLATILE = [
  /(uid|resourceVersion|creationTimestamp|time|deletionTimestamp)(":\s*|:\s*)"?[^",\n}]*"?/g,
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g,
  /\b\d+(s|m)\b/g, // AGE column
  // /api names the replica that answered (its advertise address); through the gateway that is
  // whichever replica the balancer picked. Rewriting bodies is not the gateway's job.
  /serverAddress":"[^"]*"/g,
];

function normalise(out: string, ns: string): string {
  let s = out.split(ns).join('NS');
  for (const re of VOLATILE)
    s = s.replace(re, (m) => m.replace(/[^":\s{}]+$/, 'X').replace(/"[^"]*"$/, '"X"'));
  return s;
}

const MANIFEST = (ns: string) => `apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: ${ns}, labels: { app: demo } }
data: { mode: blue }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${ns} }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: nginx }] }
`;

async function session(kc: string, ns: string): Promise<string[]> {
  const file = join(devDir(), `diff-${ns}.yaml`);
  writeFileSync(file, MANIFEST(ns));
  const k = (args: string[]) =>
    kubectl(kc, args).catch((e: { stderr?: string }) => `ERROR ${e.stderr ?? ''}`);
  const out: string[] = [];
  out.push(await k(['create', 'namespace', ns]));
  out.push(await k(['apply', '-f', file]));
  out.push(await k(['apply', '--server-side', '--field-manager=diff', '-f', file]));
  for (const o of ['yaml', 'json', 'wide'])
    out.push(await k(['-n', ns, 'get', 'configmap', 'settings', '-o', o]));
  out.push(
    await k([
      '-n',
      ns,
      'patch',
      'configmap',
      'settings',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/data/mode","value":"green"}]',
    ]),
  );
  out.push(
    await k(['-n', ns, 'patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"extra":"1"}}']),
  );
  out.push(
    await k([
      '-n',
      ns,
      'patch',
      'deployment',
      'web',
      '--type=strategic',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:2"}]}}}}',
    ]),
  );
  out.push(await k(['-n', ns, 'label', 'configmap', 'settings', 'tier=gold']));
  out.push(await k(['-n', ns, 'annotate', 'configmap', 'settings', 'note=hi']));
  out.push(await k(['-n', ns, 'scale', 'deployment', 'web', '--replicas=3']));
  out.push(
    await k([
      '-n',
      ns,
      'get',
      'deployment',
      'web',
      '-o',
      'jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}',
    ]),
  );
  out.push(
    await k([
      '-n',
      ns,
      'get',
      'configmap',
      'settings',
      '-o',
      'jsonpath={.data} {.metadata.labels} {.metadata.annotations.note}',
    ]),
  );
  out.push(await k(['get', '--raw', '/version']));
  out.push(await k(['get', '--raw', '/api']));
  out.push(await k(['get', '--raw', '/apis/apps/v1']));
  out.push(String((await k(['get', '--raw', '/openapi/v3'])).length > 1000));
  out.push(await k(['api-resources', '--no-headers']));
  out.push(await k(['auth', 'can-i', 'delete', 'nodes']));
  out.push(await k(['explain', 'configmap.data']));
  out.push(await watchWithChange(kc, ns));
  out.push(await k(['-n', ns, 'delete', 'configmap', 'settings']));
  out.push(await k(['-n', ns, 'get', 'configmap', 'settings']));
  return out;
}

/** `kubectl get --watch` while another kubectl changes the object; returns what the watch printed. */
async function watchWithChange(kc: string, ns: string): Promise<string> {
  const w = spawn(kubectlPath(), [
    '--kubeconfig',
    join(devDir(), kc),
    '-n',
    ns,
    'get',
    'configmap',
    'settings',
    '--watch',
    '--output-watch-events',
    '-o',
    'jsonpath={.type} {.object.data.mode}{"\\n"}',
  ]);
  let out = '';
  w.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await sleep(1500);
  await kubectl(kc, [
    '-n',
    ns,
    'patch',
    'configmap',
    'settings',
    '--type=merge',
    '-p',
    '{"data":{"mode":"watched"}}',
  ]);
  const deadline = Date.now() + 10_000;
  while (!out.includes('watched') && Date.now() < deadline) await sleep(100);
  w.kill();
  return out;
}

test('a scripted kubectl session prints the same through the gateway as straight to an apiserver', async () => {
  const tag = String(process.pid);
  const gw = await session('gateway.kubeconfig', `diff-gw-${tag}`);
  const direct = await session('apiserver-0.kubeconfig', `diff-direct-${tag}`);
  assert.equal(gw.length, direct.length);
  for (let i = 0; i < gw.length; i++) {
    assert.equal(normalise(gw[i], `diff-gw-${tag}`), normalise(direct[i], `diff-direct-${tag}`), `step ${i}`);
  }
  assert.match(gw.at(-3)!, /ADDED green[\s\S]*MODIFIED watched/);
});
