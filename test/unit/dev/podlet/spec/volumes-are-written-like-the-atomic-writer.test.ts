import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { V1Pod, V1Volume } from '@kubernetes/client-node';
import type { SpecError } from '../../../../../src/dev/podlet/spec/index.ts';
import {
  materializeVolumes,
  nextTokenRefresh,
  refreshVolumes,
} from '../../../../../src/dev/podlet/spec/index.ts';
import { FakeSource } from './fake-source.ts';

const tmp: string[] = [];
after(() => Promise.all(tmp.map((d) => rm(d, { recursive: true, force: true }))));
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'podlet-vol-'));
  tmp.push(d);
  return d;
}

function pod(volumes: V1Volume[]): V1Pod {
  return {
    metadata: {
      name: 'web-1',
      namespace: 'shop',
      uid: 'u1',
      labels: { b: '2', a: 'x"y' },
      annotations: { k: 'v' },
    },
    spec: {
      serviceAccountName: 'web-sa',
      containers: [{ name: 'app', resources: { limits: { memory: '64Mi' }, requests: { cpu: '100m' } } }],
      volumes,
    },
  };
}

const mode = async (p: string) => (await stat(p)).mode & 0o777;

test('emptyDir is a world-writable folder; hostPath is the host path itself', async () => {
  const dir = await tempDir();
  const host = await tempDir();
  const dirs = await materializeVolumes(
    pod([
      { name: 'scratch', emptyDir: {} },
      { name: 'mem', emptyDir: { medium: 'Memory' } },
      { name: 'host', hostPath: { path: host } },
      { name: 'made', hostPath: { path: join(host, 'new/sub'), type: 'DirectoryOrCreate' } },
    ]),
    dir,
    new FakeSource(),
  );
  assert.equal(dirs.get('scratch'), join(dir, 'kubernetes.io~empty-dir', 'scratch'));
  assert.equal(await mode(dirs.get('scratch')!), 0o777);
  assert.ok((await stat(dirs.get('mem')!)).isDirectory());
  assert.equal(dirs.get('host'), host);
  assert.ok((await stat(join(host, 'new/sub'))).isDirectory());
});

test('hostPath that is missing or of the wrong kind fails', async () => {
  const dir = await tempDir();
  const host = await tempDir();
  await writeFile(join(host, 'f'), 'x');
  await assert.rejects(
    materializeVolumes(pod([{ name: 'h', hostPath: { path: join(host, 'absent') } }]), dir, new FakeSource()),
    (e: SpecError) =>
      e.reason === 'ContainerCreating' && e.eventReason === 'FailedMount' && /does not exist/.test(e.message),
  );
  await assert.rejects(
    materializeVolumes(
      pod([{ name: 'h', hostPath: { path: join(host, 'f'), type: 'Directory' } }]),
      dir,
      new FakeSource(),
    ),
    {
      message: `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${join(host, 'f')} is not a directory`,
    },
  );
});

test('a secret volume: timestamped folder, ..data link, per-key links, modes', async () => {
  const dir = await tempDir();
  const source = new FakeSource().addSecret('shop', 'tls', { 'tls.crt': 'CERT', 'tls.key': 'KEY' });
  const dirs = await materializeVolumes(
    pod([{ name: 'certs', secret: { secretName: 'tls', defaultMode: 0o400 } }]),
    dir,
    source,
  );
  const v = dirs.get('certs')!;
  assert.equal(v, join(dir, 'kubernetes.io~secret', 'certs'));
  const entries = (await readdir(v)).sort();
  assert.equal(entries.length, 4);
  assert.match(entries[0], /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\..+$/);
  assert.deepEqual(entries.slice(1), ['..data', 'tls.crt', 'tls.key']);
  assert.equal(await readlink(join(v, '..data')), entries[0]);
  assert.equal(await readlink(join(v, 'tls.key')), '..data/tls.key');
  assert.equal(await readFile(join(v, 'tls.key'), 'utf8'), 'KEY');
  assert.equal(await mode(join(v, 'tls.key')), 0o400);
});

test('items select keys to paths with their own modes; missing keys fail unless optional', async () => {
  const dir = await tempDir();
  const source = new FakeSource()
    .addConfigMap(
      'shop',
      'cfg',
      { 'app.yaml': 'a: 1', other: 'o' },
      { 'logo.png': Buffer.from([0, 1, 2, 255]) },
    )
    .addSecret('shop', 's', { k: 'v' });
  const dirs = await materializeVolumes(
    pod([
      {
        name: 'cfg',
        configMap: {
          name: 'cfg',
          items: [
            { key: 'app.yaml', path: 'conf/app.yaml', mode: 0o600 },
            { key: 'logo.png', path: 'logo' },
          ],
        },
      },
      { name: 'all', configMap: { name: 'cfg' } },
      { name: 'opt', secret: { secretName: 'absent', optional: true } },
      {
        name: 'optkey',
        secret: {
          secretName: 's',
          optional: true,
          items: [
            { key: 'nokey', path: 'x' },
            { key: 'k', path: 'y' },
          ],
        },
      },
    ]),
    dir,
    source,
  );
  const cfg = dirs.get('cfg')!;
  assert.deepEqual((await readdir(cfg)).filter((n) => !n.startsWith('..')).sort(), ['conf', 'logo']);
  assert.equal(await readFile(join(cfg, 'conf/app.yaml'), 'utf8'), 'a: 1');
  assert.equal(await mode(join(cfg, 'conf/app.yaml')), 0o600);
  assert.deepEqual(await readFile(join(cfg, 'logo')), Buffer.from([0, 1, 2, 255]));
  assert.equal(await mode(join(cfg, 'logo')), 0o644);
  assert.deepEqual((await readdir(dirs.get('all')!)).filter((n) => !n.startsWith('..')).sort(), [
    'app.yaml',
    'logo.png',
    'other',
  ]);
  assert.deepEqual(
    (await readdir(dirs.get('opt')!)).filter((n) => !n.startsWith('..')),
    [],
  );
  assert.deepEqual(
    (await readdir(dirs.get('optkey')!)).filter((n) => !n.startsWith('..')),
    ['y'],
  );

  await assert.rejects(
    materializeVolumes(
      pod([{ name: 'x', configMap: { name: 'cfg', items: [{ key: 'nope', path: 'p' }] } }]),
      dir,
      source,
    ),
    {
      message: 'MountVolume.SetUp failed for volume "x" : configmap references non-existent config key: nope',
    },
  );
  await assert.rejects(
    materializeVolumes(
      pod([{ name: 'x', secret: { secretName: 's', items: [{ key: 'nope', path: 'p' }] } }]),
      dir,
      source,
    ),
    {
      message: 'MountVolume.SetUp failed for volume "x" : references non-existent secret key: nope',
    },
  );
  await assert.rejects(
    materializeVolumes(pod([{ name: 'x', secret: { secretName: 'gone' } }]), dir, source),
    {
      message: 'MountVolume.SetUp failed for volume "x" : secret "gone" not found',
    },
  );
  await assert.rejects(materializeVolumes(pod([{ name: 'x', configMap: { name: 'gone' } }]), dir, source), {
    message: 'MountVolume.SetUp failed for volume "x" : configmap "gone" not found',
  });
});

test('downwardAPI files: labels and annotations in the kubelet format, resources rounded up', async () => {
  const dir = await tempDir();
  const dirs = await materializeVolumes(
    pod([
      {
        name: 'info',
        downwardAPI: {
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
            { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
            { path: 'a', fieldRef: { fieldPath: "metadata.labels['a']" } },
            {
              path: 'mem',
              resourceFieldRef: { containerName: 'app', resource: 'limits.memory', divisor: '1Mi' },
            },
            {
              path: 'cpu',
              resourceFieldRef: { containerName: 'app', resource: 'limits.cpu', divisor: '1m' },
            },
          ],
        },
      },
    ]),
    dir,
    new FakeSource(),
    { nodeAllocatable: { cpu: '2', memory: '4Gi' } },
  );
  const v = dirs.get('info')!;
  const read = (p: string) => readFile(join(v, p), 'utf8');
  assert.equal(await read('labels'), 'a="x\\"y"\nb="2"');
  assert.equal(await read('annotations'), 'k="v"');
  assert.equal(await read('name'), 'web-1');
  assert.equal(await read('a'), 'x"y');
  assert.equal(await read('mem'), '64');
  assert.equal(await read('cpu'), '2000');
});

test('projected: token with audience and expiry, configMap, secret and downwardAPI merged', async () => {
  const dir = await tempDir();
  const source = new FakeSource()
    .addConfigMap('shop', 'kube-root-ca.crt', { 'ca.crt': 'CA' })
    .addSecret('shop', 's', { x: 'X' });
  const dirs = await materializeVolumes(
    pod([
      {
        name: 'kube-api-access',
        projected: {
          defaultMode: 0o444,
          sources: [
            { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
            { serviceAccountToken: { path: 'vault-token', audience: 'vault', expirationSeconds: 600 } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { secret: { name: 's' } },
            {
              downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] },
            },
          ],
        },
      },
    ]),
    dir,
    source,
  );
  const v = dirs.get('kube-api-access')!;
  assert.equal(v, join(dir, 'kubernetes.io~projected', 'kube-api-access'));
  assert.equal(await readFile(join(v, 'token'), 'utf8'), 'token-1-api');
  assert.equal(await readFile(join(v, 'vault-token'), 'utf8'), 'token-2-vault');
  assert.equal(await readFile(join(v, 'ca.crt'), 'utf8'), 'CA');
  assert.equal(await readFile(join(v, 'x'), 'utf8'), 'X');
  assert.equal(await readFile(join(v, 'namespace'), 'utf8'), 'shop');
  assert.equal(await mode(join(v, 'token')), 0o444);
  assert.deepEqual(source.tokenRequests, [
    { namespace: 'shop', serviceAccount: 'web-sa', audience: undefined, expirationSeconds: 3607 },
    { namespace: 'shop', serviceAccount: 'web-sa', audience: 'vault', expirationSeconds: 600 },
  ]);
});

test('refresh swaps content atomically and renews tokens at 80% of their TTL', async () => {
  const dir = await tempDir();
  let now = new Date('2026-01-01T00:00:00Z');
  const source = new FakeSource().addConfigMap('shop', 'cfg', { a: '1', b: '2' });
  source.now = () => now;
  const p = pod([
    { name: 'cfg', configMap: { name: 'cfg' } },
    {
      name: 'tok',
      projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 1000 } }] },
    },
    { name: 'scratch', emptyDir: {} },
  ]);
  const opts = { now: () => now };
  const dirs = await materializeVolumes(p, dir, source, opts);
  await writeFile(join(dirs.get('scratch')!, 'keep'), 'me');
  const cfg = dirs.get('cfg')!;
  const before = await readlink(join(cfg, '..data'));
  assert.equal((await nextTokenRefresh(dir))?.toISOString(), '2026-01-01T00:13:20.000Z');

  // Nothing changed: no new folder, no new token.
  now = new Date('2026-01-01T00:10:00Z');
  await refreshVolumes(p, dir, source, opts);
  assert.equal(await readlink(join(cfg, '..data')), before);
  assert.equal(source.tokenRequests.length, 1);

  // The configMap changed and the token is due.
  source.addConfigMap('shop', 'cfg', { a: 'one', c: '3' });
  now = new Date('2026-01-01T00:14:00Z');
  await refreshVolumes(p, dir, source, opts);
  const afterDir = await readlink(join(cfg, '..data'));
  assert.notEqual(afterDir, before);
  assert.deepEqual((await readdir(cfg)).sort(), [afterDir, '..data', 'a', 'c'].sort());
  assert.equal(await readFile(join(cfg, 'a'), 'utf8'), 'one');
  await assert.rejects(lstat(join(cfg, before)));
  assert.equal(source.tokenRequests.length, 2);
  assert.equal(await readFile(join(dirs.get('tok')!, 'token'), 'utf8'), 'token-2-api');
  assert.equal((await nextTokenRefresh(dir))?.toISOString(), '2026-01-01T00:27:20.000Z');
  assert.equal(await readFile(join(dirs.get('scratch')!, 'keep'), 'utf8'), 'me');
});

test('other volume types are refused by name', async () => {
  const dir = await tempDir();
  await mkdir(dir, { recursive: true });
  await assert.rejects(
    materializeVolumes(
      pod([{ name: 'data', persistentVolumeClaim: { claimName: 'pvc' } }]),
      dir,
      new FakeSource(),
    ),
    {
      message:
        'MountVolume.SetUp failed for volume "data" : volume type persistentVolumeClaim is not supported by the podlet',
    },
  );
});
