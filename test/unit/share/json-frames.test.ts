import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WatchEvent } from '../../../src/share/event.ts';
import { JSONFrameReader, WatchFrameError } from '../../../src/share/json-frames.ts';

const frame = (type: string, rv: string) =>
  `{"type":"${type}","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"${rv}"}}}\n`;

test('frames split across and within chunks come out whole, with their bytes as sent', () => {
  const text = frame('ADDED', '11') + frame('MODIFIED', '12') + frame('BOOKMARK', '15');
  const bytes = Buffer.from(text);
  for (const cut of [1, 7, 50, bytes.length - 1]) {
    const r = new JSONFrameReader(10n);
    const out: WatchEvent[] = [];
    r.push(bytes.subarray(0, cut), (e) => out.push(e));
    r.push(bytes.subarray(cut), (e) => out.push(e));
    assert.deepEqual(
      out.map((e) => [e.kind, e.rv]),
      [
        ['event', 11n],
        ['event', 12n],
        ['bookmark', 15n],
      ],
    );
    assert.equal(Buffer.concat(out.map((e) => e.bytes)).toString(), text, `cut at ${cut}`);
  }
});

test('an ERROR frame carries the last resourceVersion and its bytes as sent', () => {
  const r = new JSONFrameReader(10n);
  const out: WatchEvent[] = [];
  const err =
    '{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}\n';
  r.push(Buffer.from(frame('ADDED', '11') + err), (e) => out.push(e));
  assert.equal(out[1].kind, 'error');
  assert.equal(out[1].rv, 11n);
  assert.equal(out[1].bytes.toString(), err);
});

test('a frame cut by a lost upstream is dropped on reset; an unorderable one is an error', () => {
  const r = new JSONFrameReader(10n);
  const out: WatchEvent[] = [];
  r.push(Buffer.from(frame('ADDED', '11').slice(0, 20)), (e) => out.push(e));
  r.reset();
  r.push(Buffer.from(frame('ADDED', '12')), (e) => out.push(e));
  assert.deepEqual(
    out.map((e) => e.rv),
    [12n],
  );
  assert.throws(() => r.push(Buffer.from('{"type":"ADDED","object":{}}\n'), () => {}), WatchFrameError);
  assert.throws(() => r.push(Buffer.from('not json\n'), () => {}), WatchFrameError);
});
