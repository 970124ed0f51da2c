import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../../src/config/file-config.ts';
import { FileSource, MATERIAL_SETTLE_MS } from '../../../src/config/file-source.ts';
import { changedFiles, materialKindsOf } from '../../../src/config/material-files.ts';
import type { GatewayConfig, SourceFile } from '../../../src/config/model.ts';
import { testPKI } from '../helpers/pem-files.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function replace(file: string, content: string): Promise<void> {
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
}

test('certificate files in another folder are watched: a rename is applied once, a no-op rewrite not at all, a half-rotated pair refused naming the file until its key arrives', async () => {
  const pki = await testPKI();
  const [one, two] = [await pki.issue('named-one'), await pki.issue('named-two')];
  const conf = await mkdtemp(join(tmpdir(), 'kubegate-named-conf-'));
  const tls = await mkdtemp(join(tmpdir(), 'kubegate-named-tls-'));
  dirs.push(conf, tls);
  await copyFile(one.cert, join(tls, 'tls.crt'));
  await copyFile(one.key, join(tls, 'tls.key'));
  await copyFile(pki.ca.cert, join(tls, 'ca.crt'));
  await writeFile(join(conf, 'token'), 'token\n');
  const file = join(conf, 'kubegate.yaml');
  await writeFile(
    file,
    stringify({
      apiVersion: 'kubegate.io/v1alpha1',
      kind: 'GatewayConfiguration',
      listeners: [
        {
          name: 'main',
          port: 0,
          tls: {
            certFile: join(tls, 'tls.crt'),
            keyFile: join(tls, 'tls.key'),
            clientCAFile: join(tls, 'ca.crt'),
          },
          cluster: 'c',
        },
      ],
      clusters: [
        {
          name: 'c',
          endpoints: [{ name: 'a', url: 'https://10.0.0.1:6443' }],
          upstreamCA: { file: join(tls, 'ca.crt') },
          credentials: { tokenFile: 'token' },
        },
      ],
    }),
  );
  const applied: GatewayConfig[] = [];
  const logged: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (l: string) => logged.push(JSON.parse(l) as Record<string, unknown>) },
  );
  const src = new FileSource(file, await loadConfigFile(file), async (c) => void applied.push(c), log, {
    pollMs: 60_000,
  });
  src.start();
  after(() => src.stop());
  assert.ok(src.folders.includes(tls), 'the certificates’ folder is watched');
  // What serve warns of: a log file in a watched folder wakes the watcher on every write.
  assert.equal(src.watchesFolderOf(join(conf, 'access.log')), true);
  assert.equal(src.watchesFolderOf(join(tls, 'sub', 'access.log')), false);
  assert.equal(src.watchesFolderOf('/var/log/kubegate/access.log'), false);

  // A no-op rewrite (same bytes) changes nothing.
  await replace(join(tls, 'tls.crt'), await readFile(one.cert, 'utf8'));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(applied.length, 0);

  // A pair replaced one file at a time, the key 100 ms after the certificate: applied, nothing
  // refused (the refusal between the two renames waits MATERIAL_SETTLE_MS for a second look).
  const three = await pki.issue('named-three');
  await replace(join(tls, 'tls.crt'), await readFile(three.cert, 'utf8'));
  await new Promise((r) => setTimeout(r, 100));
  await replace(join(tls, 'tls.key'), await readFile(three.key, 'utf8'));
  await until(() => applied.length === 1);
  await new Promise((r) => setTimeout(r, MATERIAL_SETTLE_MS + 100));
  assert.equal(src.failures, 0, 'no refusal reported');
  assert.equal(applied[0].listeners[0].material.cert, await readFile(three.cert, 'utf8'));
  applied.length = 0;
  logged.length = 0;

  // The new certificate alone: refused (after MATERIAL_SETTLE_MS), the key file named, nothing applied.
  await replace(join(tls, 'tls.crt'), await readFile(two.cert, 'utf8'));
  await until(() => src.failures === 1);
  assert.equal(applied.length, 0);
  const refused = logged.find((l) => String(l.msg).startsWith('configuration rejected'));
  const issues = refused?.issues as { path: string; message: string }[];
  assert.deepEqual(
    issues.map((i) => i.path),
    ['listeners[0].tls.keyFile'],
  );
  assert.ok(issues[0].message.startsWith(`${join(tls, 'tls.key')}: private key does not match`));
  assert.equal(src.material.listener_key.failures, 1);

  // Its key arrives: applied once, both files counted, the new certificate served.
  await replace(join(tls, 'tls.key'), await readFile(two.key, 'utf8'));
  await until(() => applied.length === 1);
  assert.equal(applied[0].listeners[0].material.cert, await readFile(two.cert, 'utf8'));
  assert.equal(src.material.listener_cert.reloads, 2);
  assert.equal(src.material.listener_key.reloads, 2);
  assert.equal(src.material.upstream_ca.reloads, 0);
  const line = logged.find((l) => l.kind === 'material');
  assert.deepEqual(
    (line?.files as { kind: string }[]).map((f) => f.kind),
    ['listener_cert', 'listener_key'],
  );
  assert.ok(
    !JSON.stringify(logged).includes((await readFile(two.key, 'utf8')).split('\n')[1]),
    'no key in the log',
  );

  // A CA file cut to nothing: refused, named; a good one again: applied.
  await replace(join(tls, 'ca.crt'), '');
  await until(() => src.failures === 2);
  assert.equal(src.material.listener_client_ca.failures, 1);
  assert.equal(src.material.upstream_ca.failures, 1);
  await replace(join(tls, 'ca.crt'), await readFile(pki.ca.cert, 'utf8'));
  await until(() => applied.length === 2);
});

test('changed files: by kind and path, content compared; issues map to the kind of file they name', () => {
  const f = (kind: SourceFile['kind'], path: string, content: string): SourceFile => ({
    kind,
    path,
    content,
  });
  const before = [f('listener_cert', '/a', '1'), f('listener_key', '/b', '1'), f('upstream_ca', '/c', '1')];
  const after = [
    f('listener_cert', '/a', '2'),
    f('listener_key', '/b', '1'),
    f('upstream_ca', '/c', '1'),
    f('cluster_client_ca', '/c', '1'),
  ];
  assert.deepEqual(
    changedFiles(before, after).map((x) => x.kind),
    ['listener_cert', 'cluster_client_ca'],
  );
  assert.deepEqual(
    [
      ...materialKindsOf([
        { path: 'listeners[0].tls.keyFile', message: '' },
        { path: 'clusters[2].credentials.tokenFile', message: '' },
        { path: 'clusters[0].rules[0].limits.qps', message: '' },
      ]),
    ],
    ['listener_key', 'upstream_token'],
  );
});
