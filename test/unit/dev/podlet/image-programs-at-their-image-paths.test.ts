import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { installImagePrograms } from '../../../../src/dev/podlet/images.ts';

const dir = mkdtempSync(join(tmpdir(), 'kg-images-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('each built image program appears at its image path, linked to the build, renewed when the build changes', () => {
  const bin = join(dir, 'bin');
  const root = join(dir, 'root');
  mkdirSync(bin);
  mkdirSync(root);
  // Only agnhost is built; echo-basic is not, and is left out.
  writeFileSync(join(bin, 'agnhost'), 'v1', { mode: 0o755 });
  assert.deepEqual(installImagePrograms(bin, root), [join(root, 'agnhost')]);
  assert.equal(statSync(join(root, 'agnhost')).ino, statSync(join(bin, 'agnhost')).ino);
  assert.equal(statSync(join(root, 'agnhost')).mode & 0o111, 0o111);

  // A new build (a new file) replaces the program; an up-to-date one is left alone.
  rmSync(join(bin, 'agnhost'));
  writeFileSync(join(bin, 'agnhost'), 'v2', { mode: 0o755 });
  utimesSync(join(bin, 'agnhost'), new Date(2026, 0, 1), new Date(2026, 0, 1));
  installImagePrograms(bin, root);
  assert.equal(readFileSync(join(root, 'agnhost'), 'utf8'), 'v2');
  const ino = statSync(join(root, 'agnhost')).ino;
  installImagePrograms(bin, root);
  assert.equal(statSync(join(root, 'agnhost')).ino, ino);
});
