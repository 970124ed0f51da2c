import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { LineBatches } from '../../../src/observe/line-batches.ts';

const dir = await mkdtemp(join(tmpdir(), 'kubegate-lines-'));
after(() => rm(dir, { recursive: true, force: true }));

function line(i: number, pad = 0): string {
  return `{"n":${i},"pad":"${'é'.repeat(pad)}"}\n`;
}

async function opened(d: ReturnType<typeof pino.destination>): Promise<void> {
  if ((d as unknown as { fd: number }).fd >= 0) return;
  await new Promise((resolve) => d.once('ready', resolve));
}

for (const sync of [false, true]) {
  test(`lines to pino's file destination (sync: ${sync}) land whole and in order, with pino's own lines`, async () => {
    const file = join(dir, `access-${sync}.log`);
    const d = pino.destination({ dest: file, mkdir: true, sync });
    await opened(d);
    const lines = new LineBatches(d);
    const want: string[] = [];
    for (let i = 0; i < 3000; i++) {
      // Multi-byte characters, and a few lines longer than a batch on their own.
      const l = line(i, i % 500 === 7 ? 40_000 : i % 13);
      want.push(l);
      lines.add(l);
      if (i % 100 === 99) lines.flush();
    }
    d.write('{"pino":"own line"}\n');
    lines.close();
    d.flushSync();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const got = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
    const own = got.filter((l) => l.startsWith('{"pino"'));
    assert.equal(own.length, 1);
    assert.deepEqual(
      got.filter((l) => !l.startsWith('{"pino"')),
      want.map((l) => l.slice(0, -1)),
    );
  });
}

test('lines added before the file is open go out as strings, then in buffers, in order', async () => {
  const file = join(dir, 'opening.log');
  const d = pino.destination({ dest: file, mkdir: true });
  const lines = new LineBatches(d);
  lines.add(line(0)); // the destination is still opening its file
  lines.flush();
  await opened(d);
  lines.add(line(1));
  lines.add(line(2));
  lines.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  d.flushSync();
  assert.equal(await readFile(file, 'utf8'), line(0) + line(1) + line(2));
});

test('a destination that is not a SonicBoom gets each batch as one string, at most 4 KiB unless one line is longer', () => {
  const writes: string[] = [];
  const lines = new LineBatches({ write: (s: string) => writes.push(s) });
  for (let i = 0; i < 100; i++) lines.add(line(i, 50));
  lines.add(line(100, 5000));
  lines.flush();
  assert.ok(writes.length > 1);
  for (const w of writes.slice(0, -1)) assert.ok(w.length <= 4096, `a batch of ${w.length}`);
  assert.equal(
    writes.join(''),
    Array.from({ length: 100 }, (_, i) => line(i, 50)).join('') + line(100, 5000),
  );
});
