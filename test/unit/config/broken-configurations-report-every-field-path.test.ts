import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { validateFile } from '../../../src/cli/validate.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BROKEN = join(ROOT, 'test/fixtures/config/broken');
const BIN = join(ROOT, 'bin/kubegate');

/** `# expect: PATH: MESSAGE-PART` header lines of a fixture. */
function expectations(file: string): { path: string; part: string }[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('# expect: '))
    .map((l) => {
      const rest = l.slice('# expect: '.length);
      const i = rest.indexOf(': ');
      return { path: rest.slice(0, i), part: rest.slice(i + 2).trim() };
    });
}

for (const name of readdirSync(BROKEN).filter((f) => f.endsWith('.yaml'))) {
  test(`validate reports exactly the expected field paths: ${name}`, async () => {
    const file = join(BROKEN, name);
    const want = expectations(file);
    assert.ok(want.length > 0, 'fixture lists its expectations');
    const issues = (await validateFile(file)).flatMap((d) => d.issues);
    assert.deepEqual(
      [...new Set(issues.map((i) => i.path))].sort(),
      [...new Set(want.map((w) => w.path))].sort(),
    );
    for (const w of want)
      assert.ok(
        issues.some((i) => i.path === w.path && i.message.includes(w.part)),
        `${w.path}: a message containing "${w.part}" (got ${JSON.stringify(issues.filter((i) => i.path === w.path))})`,
      );
  });
}

test('kubegate validate exits 1 and prints one line per problem with the file and field path', async () => {
  const file = join(BROKEN, 'listeners-and-clusters.yaml');
  const err = await run(BIN, ['validate', '-f', file]).then(
    () => assert.fail('validate should fail'),
    (e: { code: number; stdout: string }) => e,
  );
  assert.equal(err.code, 1);
  const lines = err.stdout.trim().split('\n');
  assert.equal(lines.length, expectations(file).length);
  for (const l of lines)
    assert.match(l, /^.*listeners-and-clusters\.yaml: kubegate\.io\/v1alpha1 GatewayConfiguration: \S+: .+$/);
});

test('every example in examples/ validates (exit 0)', async () => {
  const dir = join(ROOT, 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 2);
  for (const f of files) {
    const { stdout } = await run(BIN, ['validate', '-f', join(dir, f)]);
    assert.match(stdout, /: valid \(/, f);
  }
});
