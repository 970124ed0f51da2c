import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../../src/config/file-config.ts';
import { FileSource } from '../../../src/config/file-source.ts';
import type { GatewayConfig } from '../../../src/config/model.ts';
import { testPKI, writeMaterialFiles } from '../helpers/pem-files.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function config(qps: number | 'bad'): string {
  return stringify({
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'GatewayConfiguration',
    listeners: [{ name: 'main', port: 0, tls: { certFile: 'tls.crt', keyFile: 'tls.key' }, cluster: 'c' }],
    clusters: [
      {
        name: 'c',
        endpoints: [{ name: 'a', url: 'https://10.0.0.1:6443' }],
        upstreamCA: { file: 'ca.crt' },
        credentials: { tokenFile: 'token' },
        rules: [{ name: 'r', limits: { qps } }],
      },
    ],
  });
}

/** A folder laid out like a ConfigMap volume: kubegate.yaml → ..data/kubegate.yaml, ..data → ..v1. */
async function configMapDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-filesource-'));
  dirs.push(dir);
  await writeMaterialFiles(dir);
  await mkdir(join(dir, '..v1'));
  await writeFile(join(dir, '..v1', 'kubegate.yaml'), config(5));
  await symlink('..v1', join(dir, '..data'));
  await symlink('..data/kubegate.yaml', join(dir, 'kubegate.yaml'));
  return dir;
}

/** Swaps the ..data symlink atomically to a new version, as the kubelet does. */
async function swap(dir: string, version: string, text: string): Promise<void> {
  await mkdir(join(dir, version));
  await writeFile(join(dir, version, 'kubegate.yaml'), text);
  await symlink(version, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
}

function qpsOf(cfg: GatewayConfig): number | undefined {
  return cfg.clusters[0].rules[0].limits?.qps;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a ConfigMap-style symlink swap is applied once; an invalid version changes nothing and is logged by field', async () => {
  const dir = await configMapDir();
  const file = join(dir, 'kubegate.yaml');
  const applied: GatewayConfig[] = [];
  const logged: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => logged.push(JSON.parse(line) as Record<string, unknown>) },
  );
  // The default debounce: it must see a kubelet-style swap through (and apply it once).
  const src = new FileSource(file, await loadConfigFile(file), async (c) => void applied.push(c), log, {
    pollMs: 60_000,
  });
  src.start();
  after(() => src.stop());

  await swap(dir, '..v2', config(7));
  await until(() => applied.length === 1);
  assert.equal(qpsOf(applied[0]), 7);

  await swap(dir, '..v3', config('bad'));
  await until(() => src.failures === 1);
  const rejected = logged.find((l) => l.msg === 'configuration rejected; the last good one keeps serving');
  assert.deepEqual(
    (rejected?.issues as { path: string }[]).map((i) => i.path),
    ['clusters[0].rules[0].limits.qps'],
  );
  assert.equal(applied.length, 1, 'nothing applied for the invalid version');

  await swap(dir, '..v4', config(9));
  await until(() => applied.length === 2);
  assert.equal(qpsOf(applied[1]), 9);
});

test('rewriting the same content applies nothing (content hash)', async () => {
  const dir = await configMapDir();
  const file = join(dir, 'kubegate.yaml');
  let applied = 0;
  const src = new FileSource(
    file,
    await loadConfigFile(file),
    async () => void applied++,
    pino({ level: 'silent' }),
    {
      debounceMs: 10,
      pollMs: 60_000,
    },
  );
  src.start();
  after(() => src.stop());
  await swap(dir, '..v2', config(5));
  await src.check();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(applied, 0);
});

test('a file the configuration names that changes (a rotated CA) is applied though the text is the same', async () => {
  const dir = await configMapDir();
  const file = join(dir, 'kubegate.yaml');
  const applied: GatewayConfig[] = [];
  const src = new FileSource(
    file,
    await loadConfigFile(file),
    async (c) => void applied.push(c),
    pino({ level: 'silent' }),
    { pollMs: 60_000 },
  );
  await src.check();
  assert.equal(applied.length, 0, 'nothing changed yet');
  const pki = await testPKI();
  const other = await pki.issue('other');
  const rotated = (await readFile(pki.ca.cert, 'utf8')) + (await readFile(other.cert, 'utf8'));
  await writeFile(join(dir, 'ca.crt'), rotated);
  await src.check();
  assert.equal(applied.length, 1);
  assert.equal(applied[0].clusters[0].material.ca, rotated);
  await src.check();
  assert.equal(applied.length, 1, 'and once only');
  await writeFile(join(dir, 'tls.crt'), await readFile(other.cert, 'utf8'));
  await writeFile(join(dir, 'tls.key'), await readFile(other.key, 'utf8'));
  await src.check();
  assert.equal(applied.length, 2, 'a listener certificate counts too');
  assert.equal(applied[1].listeners[0].material.cert, await readFile(other.cert, 'utf8'));
});

test('a change written after the initial configuration was loaded (while the gateway started) is applied by the first check', async () => {
  const dir = await configMapDir();
  const file = join(dir, 'kubegate.yaml');
  const initial = await loadConfigFile(file);
  await swap(dir, '..v2', config(6));
  const applied: GatewayConfig[] = [];
  const src = new FileSource(file, initial, async (c) => void applied.push(c), pino({ level: 'silent' }), {
    pollMs: 60_000,
  });
  await src.check();
  assert.deepEqual(applied.map(qpsOf), [6]);
});
