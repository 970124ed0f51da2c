import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CriLogWriter, MAX_LOG_LINE, rfc3339Nano } from '../../../../../src/dev/podlet/runtime/cri-log.ts';

const dir = mkdtempSync(join(tmpdir(), 'kg-cri-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('rfc3339Nano has nine fraction digits in UTC', () => {
  assert.match(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5, 6) + 0.0007), /^2026-01-02T03:04:05\.0060007\d\dZ$/);
  assert.match(rfc3339Nano(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
});

test('CriLogWriter writes full lines, long-line pieces and the unterminated tail as P', async () => {
  const path = join(dir, 'a', 'b', '0.log');
  const w = new CriLogWriter(path);
  w.write('stdout', Buffer.from('one\ntw'));
  w.write('stderr', Buffer.from('err\n'));
  w.write('stdout', Buffer.from('o\n'));
  w.write('stdout', Buffer.alloc(MAX_LOG_LINE + 5, 'x'));
  w.write('stdout', Buffer.from('\ntail'));
  w.end('stdout');
  w.end('stderr');
  await w.close();
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  const parsed = lines.map((l) => /^(\S+) (stdout|stderr) ([FP]) (.*)$/.exec(l)!.slice(2));
  assert.deepEqual(parsed, [
    ['stdout', 'F', 'one'],
    ['stderr', 'F', 'err'],
    ['stdout', 'F', 'two'],
    ['stdout', 'P', 'x'.repeat(MAX_LOG_LINE)],
    ['stdout', 'F', 'xxxxx'],
    ['stdout', 'P', 'tail'],
  ]);
});
