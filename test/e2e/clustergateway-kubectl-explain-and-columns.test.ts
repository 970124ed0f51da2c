import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { devDir, devDirB, kubectl, kubectlPath } from './env.ts';
import { APISERVICE_NAMESPACE, APISERVICE_SERVICE } from '../../src/dev/apiservice.ts';

// kubectl against the ClusterGateway API as against oam-dev/cluster-gateway: `explain` reads the
// group version's OpenAPI v3 document, `get` prints the server's Table columns. Both ways in:
// aggregated (cluster A's apiserver itself, through the APIService `kubegate dev` registers) and
// direct (the dev gateway, which serves the ClusterGateway paths itself).
const run = promisify(execFile);
const tag = randomBytes(3).toString('hex');
const SECRETS = 'kubegate-system'; // the dev gateway's cluster Secrets
const NSB = `cgx-${tag}`;
const NAME = `x${tag}`;
const HUB = 'apiserver-0.kubeconfig'; // aggregated: the apiserver, no gateway in between
const GATEWAY = 'gateway.kubeconfig'; // direct
const MODES = [
  ['aggregated (the apiserver, through the APIService kubegate dev registered)', HUB],
  ['direct (the gateway)', GATEWAY],
] as const;
let cache = '';

async function kubectlB(args: readonly string[]): Promise<string> {
  const kc = join(devDirB(), 'apiserver-0.kubeconfig');
  return (await run(kubectlPath(), ['--kubeconfig', kc, ...args], { timeout: 60_000 })).stdout;
}

/** kubectl with a discovery and OpenAPI cache of this file's own. */
const k = (kubeconfig: string, args: string[]) => kubectl(kubeconfig, [`--cache-dir=${cache}`, ...args]);

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const v = await f().catch((err: unknown) => {
      last = err;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${String(last)})`);
    await sleep(250);
  }
}

before(async () => {
  cache = join(devDir(), 'users', `cgx-${tag}-cache`);
  mkdirSync(cache, { recursive: true });
  // Cluster B, registered on A by a Secret of the dev gateway's namespace (a token of B's).
  await kubectlB(['create', 'namespace', NSB]);
  await kubectlB(['-n', NSB, 'create', 'serviceaccount', 'hub']);
  const token = (await kubectlB(['-n', NSB, 'create', 'token', 'hub', '--duration', '1h'])).trim();
  const stateB = JSON.parse(readFileSync(join(devDirB(), 'state.json'), 'utf8')) as { apiservers: string[] };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const file = join(cache, 'secret.json');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: NAME,
        namespace: SECRETS,
        labels: { 'cluster.core.oam.dev/cluster-credential-type': 'ServiceAccountToken' },
      },
      data: {
        endpoint: b64(stateB.apiservers[0]),
        'ca.crt': b64(readFileSync(join(devDirB(), 'pki', 'ca.crt'), 'utf8')),
        token: b64(token),
      },
    }),
    { mode: 0o600 },
  );
  await kubectl(HUB, ['apply', '-f', file]);
});

after(async () => {
  await kubectl(HUB, ['-n', SECRETS, 'delete', 'secret', NAME, '--ignore-not-found']);
  await kubectlB(['delete', 'namespace', NSB, '--wait=false']);
  rmSync(cache, { recursive: true, force: true });
});

test('kubegate dev registers the ClusterGateway APIService: kubectl get clustergateways against the apiserver itself', async () => {
  const svc = JSON.parse(await k(HUB, ['get', 'apiservice', 'v1alpha1.cluster.core.oam.dev', '-o', 'json'])) as {
    spec: { service: { namespace: string; name: string } };
    status: { conditions: { type: string; status: string }[] };
  }; // prettier-ignore
  assert.deepEqual(svc.spec.service, {
    namespace: APISERVICE_NAMESPACE,
    name: APISERVICE_SERVICE,
    port: 443,
  });
  assert.equal(svc.status.conditions.find((c) => c.type === 'Available')?.status, 'True');
  const names = await until(`${NAME} listed by the apiserver`, async () => {
    const out = await k(HUB, ['get', 'clustergateways', '-o', 'name']);
    return out.includes(`clustergateway.cluster.core.oam.dev/${NAME}\n`) ? out : undefined;
  });
  assert.match(names, new RegExp(`^clustergateway\\.cluster\\.core\\.oam\\.dev/${NAME}$`, 'm'));
});

for (const [mode, kubeconfig] of MODES) {
  test(`${mode}: kubectl explain clustergateways prints the fields`, async () => {
    // The hub's aggregator fetches the APIService's OpenAPI v3 on its own schedule: retry a while.
    const top = await until('kubectl explain clustergateways', () => k(kubeconfig, ['explain', 'clustergateways']));
    assert.match(top, /^GROUP:\s+cluster\.core\.oam\.dev$/m, top);
    assert.match(top, /^KIND:\s+ClusterGateway$/m, top);
    assert.match(top, /^VERSION:\s+v1alpha1$/m, top);
    for (const field of ['apiVersion', 'kind', 'metadata', 'spec', 'status'])
      assert.match(top, new RegExp(`^  ${field}\\t`, 'm'), `${field} in\n${top}`);
    const access = await k(kubeconfig, ['explain', 'clustergateways.spec.access.endpoint.const']);
    for (const field of ['address', 'caBundle', 'insecure'])
      assert.match(access, new RegExp(`^  ${field}\\t`, 'm'), `${field} in\n${access}`);
    const healthy = await k(kubeconfig, ['explain', 'clustergateways.status.healthy']);
    assert.match(healthy, /^FIELD:\s+healthy <boolean>$/m, healthy);
  }); // prettier-ignore

  test(`${mode}: kubectl get clustergateways -o wide prints cluster-gateway's columns`, async () => {
    const out = await until(`${NAME} healthy`, async () => {
      const o = await k(kubeconfig, ['get', 'clustergateways', '-o', 'wide']);
      return new RegExp(`^${NAME}\\s.*true\\s*$`, 'm').test(o) ? o : undefined;
    });
    const lines = out.trimEnd().split('\n');
    assert.deepEqual(lines[0].split(/\s+/), [
      'NAME',
      'PROVIDER',
      'CREDENTIAL-TYPE',
      'ENDPOINT-TYPE',
      'HEALTHY',
    ]);
    const row = lines.find((l) => l.startsWith(`${NAME} `))!;
    // The provider is empty: its column is blank, so the row has four words.
    assert.deepEqual(row.split(/\s+/), [NAME, 'ServiceAccountToken', 'Const', 'true']);
    const one = await k(kubeconfig, ['get', 'clustergateway', NAME]);
    assert.match(one, /^NAME\s+PROVIDER\s+CREDENTIAL-TYPE\s+ENDPOINT-TYPE\s+HEALTHY$/m, one);
  });
}
