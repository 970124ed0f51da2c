import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { concernsFiles, foldersOf, WatchedFiles } from '../../../src/config/watched-files.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

test('an event concerns the files when it names one of them, a volume name (..data, ..2026_…), or nothing', () => {
  const names = new Set(['tls.crt', 'tls.key']);
  assert.equal(concernsFiles('tls.crt', names), true);
  assert.equal(concernsFiles('..data', names), true);
  assert.equal(concernsFiles('..2026_12_02_03_04_05.123', names), true);
  assert.equal(concernsFiles(null, names), true);
  assert.equal(concernsFiles('other.log', names), false);
  assert.equal(concernsFiles('tls.crt.tmp', names), false);
});

test('folders: each file its own folder once; a symlink elsewhere adds the target folder, a volume link does not', () => {
  const links: Record<string, string> = {
    '/etc/tls/tls.crt': '..data/tls.crt',
    '/etc/kubegate/ca.crt': '/run/secrets/ca/ca.crt',
  };
  const folders = foldersOf(
    ['/etc/tls/tls.crt', '/etc/tls/tls.key', '/etc/kubegate/kubegate.yaml', '/etc/kubegate/ca.crt'],
    (p) => links[p] ?? null,
  );
  assert.deepEqual(
    [...folders].map(([d, n]) => [d, [...n].sort()]),
    [
      ['/etc/tls', ['tls.crt', 'tls.key']],
      ['/etc/kubegate', ['ca.crt', 'kubegate.yaml']],
      ['/run/secrets/ca', ['ca.crt']],
    ],
  );
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a Secret volume swap and a rename in a watched folder are seen; other files there are not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-watched-'));
  dirs.push(dir);
  await mkdir(join(dir, '..v1'));
  await writeFile(join(dir, '..v1', 'tls.crt'), 'one');
  await symlink('..v1', join(dir, '..data'));
  await symlink('..data/tls.crt', join(dir, 'tls.crt'));
  const other = await mkdtemp(join(tmpdir(), 'kubegate-watched-'));
  dirs.push(other);
  await writeFile(join(other, 'token'), 'a');
  let events = 0;
  const w = new WatchedFiles(() => events++, pino({ level: 'silent' }));
  after(() => w.close());
  w.set([join(dir, 'tls.crt'), join(other, 'token')]);
  assert.deepEqual(w.folders.sort(), [dir, other].sort());

  await writeFile(join(dir, 'unrelated.log'), 'x');
  await writeFile(join(other, 'unrelated'), 'x');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(events, 0, 'files the configuration does not name change nothing');

  await mkdir(join(dir, '..v2'));
  await writeFile(join(dir, '..v2', 'tls.crt'), 'two');
  await symlink('..v2', join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  await until(() => events > 0);

  const before = events;
  await writeFile(join(other, 'token.tmp'), 'b');
  await rename(join(other, 'token.tmp'), join(other, 'token'));
  await until(() => events > before);

  w.set([join(dir, 'tls.crt')]);
  assert.deepEqual(w.folders, [dir], 'a folder no longer named is not watched');
});
