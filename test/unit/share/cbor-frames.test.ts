import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CBORFrameReader } from '../../../src/share/cbor-frames.ts';
import type { WatchEvent } from '../../../src/share/event.ts';
import { WatchFrameError } from '../../../src/share/json-frames.ts';

// testdata/cbor-*.cbor: watch responses captured from kube-apiserver v1.37.2 (CBORServingAndStorage
// on) with `Accept: application/cbor` (answered `application/cbor-seq`): a custom resource's watch
// (3 ADDED, MODIFIED, DELETED), its watch from a compacted resourceVersion (one ERROR: 410
// Expired), and a ConfigMap watch and watch-list (initial events, the initial-events-end
// BOOKMARK, the changes, a BOOKMARK).
const testdata = (name: string) => readFileSync(new URL(`testdata/${name}`, import.meta.url));

function read(chunks: Buffer[], startRV = 7n): WatchEvent[] {
  const r = new CBORFrameReader(startRV);
  const out: WatchEvent[] = [];
  for (const c of chunks) r.push(c, (e) => out.push(e));
  return out;
}

const summary = (events: WatchEvent[]) => events.map((e) => `${e.kind} ${e.rv}`);

const captured: [string, string[]][] = [
  ['cbor-widgets-watch.cbor', ['event 313', 'event 314', 'event 315', 'event 316', 'event 317']],
  ['cbor-widgets-watch-gone.cbor', ['error 7']],
  ['cbor-configmaps-watch.cbor', ['event 318', 'event 319', 'event 320', 'event 321', 'event 322']],
  [
    'cbor-configmaps-watch-list.cbor',
    [
      'event 303',
      'bookmark 317',
      'event 318',
      'event 319',
      'event 320',
      'event 321',
      'event 322',
      'bookmark 322',
    ],
  ],
];

test("kube-apiserver's CBOR watch streams split into their events, cut anywhere", () => {
  for (const [name, expected] of captured) {
    const all = testdata(name);
    const whole = read([all]);
    assert.deepEqual(summary(whole), expected, name);
    assert.deepEqual(Buffer.concat(whole.map((e) => e.bytes)), all, `${name}: the same bytes as sent`);
    for (const e of whole)
      assert.deepEqual(e.bytes.subarray(0, 3), Buffer.from('d9d9f7', 'hex'), 'self-described');
    for (let cut = 1; cut < all.length; cut++) {
      const events = read([all.subarray(0, cut), all.subarray(cut)]);
      assert.deepEqual(summary(events), expected, `${name} cut at ${cut}`);
      assert.deepEqual(Buffer.concat(events.map((e) => e.bytes)), all, `${name} cut at ${cut}`);
    }
    const bytewise = read(Array.from(all, (b) => Buffer.from([b])));
    assert.deepEqual(summary(bytewise), expected, `${name} one byte at a time`);
    assert.deepEqual(Buffer.concat(bytewise.map((e) => e.bytes)), all);
  }
});

test('the event map is read in either key order (the apiserver shuffles them)', () => {
  const events = read([testdata('cbor-widgets-watch.cbor')]);
  // a2 44 "type": the type first; a2 46 "object": the object first.
  const firstKeys = new Set(events.map((e) => e.bytes.subarray(3, 5).toString('hex')));
  assert.deepEqual(firstKeys, new Set(['a244', 'a246']));
});

test("the watch-list's initial-events-end bookmark carries its annotation as plain bytes", () => {
  const events = read([testdata('cbor-configmaps-watch-list.cbor')]);
  const marked = events.filter((e) => e.bytes.includes('k8s.io/initial-events-end'));
  assert.deepEqual(summary(marked), ['bookmark 317']);
});

// A minimal CBOR writer for the cases the apiserver does not produce.
function h(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}
const bytes = (s: string) => Buffer.concat([h(2, Buffer.byteLength(s)), Buffer.from(s)]);
const text = (s: string) => Buffer.concat([h(3, Buffer.byteLength(s)), Buffer.from(s)]);
const map = (...kv: Buffer[]) => Buffer.concat([h(5, kv.length / 2), ...kv]);
const SELF = Buffer.from('d9d9f7', 'hex');
const cat = (...b: Buffer[]) => Buffer.concat(b);

function event(type: Buffer, rv: Buffer | null): Buffer {
  const meta =
    rv === null
      ? map(bytes('name'), bytes('a'))
      : map(bytes('name'), bytes('a'), bytes('resourceVersion'), rv);
  const obj = cat(SELF, map(bytes('kind'), bytes('ConfigMap'), bytes('metadata'), meta));
  return cat(SELF, map(bytes('object'), obj, bytes('type'), type));
}

test('indefinite lengths, text strings, tags and every scalar are walked', () => {
  // {_ "object": {_ "spec": [_ 1, -1, 1.5 (f16, f32, f64), true, null, simple(32), tag 1 (0), h'', "x" (indefinite)],
  //   "metadata": {"resourceVersion": "42" (an indefinite byte string)}}, "type": "MODIFIED"}
  const spec = cat(
    Buffer.from([0x9f, 0x01, 0x20, 0xf9, 0x3e, 0x00, 0xfa, 0x3f, 0xc0, 0x00, 0x00]),
    Buffer.from([0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xf5, 0xf6, 0xf8, 0x20, 0xc1, 0x00, 0x40]),
    Buffer.from([0x7f, 0x61, 0x78, 0xff, 0xff]),
  );
  const rv = cat(Buffer.from([0x5f]), bytes('4'), bytes('2'), Buffer.from([0xff]));
  const frame = cat(
    Buffer.from([0xbf]),
    text('object'),
    Buffer.from([0xbf]),
    text('spec'),
    spec,
    text('metadata'),
    map(text('resourceVersion'), text('42')),
    Buffer.from([0xff]),
    text('type'),
    text('MODIFIED'),
    Buffer.from([0xff]),
  );
  const big = event(bytes('ADDED'), bytes('43'));
  for (let cut = 1; cut < frame.length; cut++) {
    const got = read([frame.subarray(0, cut), cat(frame.subarray(cut), big)]);
    assert.deepEqual(summary(got), ['event 42', 'event 43'], `cut at ${cut}`);
    assert.deepEqual(got[0].bytes, frame);
  }
  // An indefinite byte string is not a string the reader takes as a resourceVersion.
  const indefiniteRV = event(bytes('ADDED'), rv);
  assert.throws(() => read([indefiniteRV]), WatchFrameError);
});

test('a large frame that comes in many chunks comes out whole, with the frames around it', () => {
  const meta = map(bytes('resourceVersion'), bytes('77'), bytes('name'), bytes('big'));
  const data = map(bytes('v'), bytes('x'.repeat(1024 * 1024)), bytes('w'), bytes('y'.repeat(70_000)));
  const obj = cat(SELF, map(bytes('data'), data, bytes('metadata'), meta));
  const large = cat(SELF, map(bytes('object'), obj, bytes('type'), bytes('MODIFIED')));
  const all = cat(event(bytes('ADDED'), bytes('76')), large, event(bytes('DELETED'), bytes('78')));
  for (const size of [1000, 16 * 1024, 65_537]) {
    const chunks = [];
    for (let i = 0; i < all.length; i += size) chunks.push(all.subarray(i, i + size));
    const got = read(chunks);
    assert.deepEqual(summary(got), ['event 76', 'event 77', 'event 78'], `chunks of ${size}`);
    assert.deepEqual(got[1].bytes, large);
  }
});

test('a frame cut in half is dropped by reset; the next one is read from its start', () => {
  const a = event(bytes('ADDED'), bytes('11'));
  const b = event(bytes('DELETED'), bytes('12'));
  const r = new CBORFrameReader(10n);
  const out: WatchEvent[] = [];
  r.push(a.subarray(0, 20), (e) => out.push(e));
  r.reset();
  r.push(b, (e) => out.push(e));
  assert.deepEqual(summary(out), ['event 12']);
  assert.deepEqual(out[0].bytes, b);
});

test('an ERROR carries the last resourceVersion read; a bookmark moves it', () => {
  const status = cat(SELF, map(bytes('kind'), bytes('Status'), bytes('code'), h(0, 410)));
  const error = cat(SELF, map(bytes('type'), bytes('ERROR'), bytes('object'), status));
  const got = read([cat(event(bytes('BOOKMARK'), bytes('90')), error)], 5n);
  assert.deepEqual(summary(got), ['bookmark 90', 'error 90']);
});

test('malformed or unreadable frames are rejected', () => {
  const ok = event(bytes('ADDED'), bytes('5'));
  const cases: [string, Buffer][] = [
    ['reserved additional information', Buffer.from([0x1c])],
    ['a break outside an indefinite item', Buffer.from([0xff])],
    ['an indefinite integer', Buffer.from([0x1f])],
    ['an indefinite tag', Buffer.from([0xdf, 0x00])],
    ['a text chunk in an indefinite byte string', Buffer.from([0x5f, 0x61, 0x78, 0xff])],
    ['an indefinite chunk in an indefinite string', Buffer.from([0x7f, 0x7f, 0xff, 0xff])],
    ['a two-byte simple value below 32', Buffer.from([0xf8, 0x10])],
    ['an indefinite map with a key and no value', Buffer.from([0xbf, 0x01, 0xff])],
    ['nesting 300 deep', Buffer.alloc(300, 0x81)],
    ['a string of 4 GiB', Buffer.from([0x5a, 0xff, 0xff, 0xff, 0xff])],
    ['an array of 2^40 items', Buffer.from([0x9b, 0, 0, 1, 0, 0, 0, 0, 0])],
    ['not a map', Buffer.from([0x01])],
    ['a map under another tag', cat(Buffer.from([0xd8, 0x18]), map(bytes('type'), bytes('ADDED')))],
    ['no type', cat(SELF, map(bytes('object'), map()))],
    ['a type that is not a string', cat(SELF, map(bytes('type'), h(0, 1)))],
    ['two types', cat(SELF, map(bytes('type'), bytes('ADDED'), bytes('type'), bytes('ERROR')))],
    ['an event without a resourceVersion', event(bytes('ADDED'), null)],
    ['a resourceVersion that is not a number', event(bytes('MODIFIED'), bytes('abc'))],
    ['a resourceVersion that is a number item', event(bytes('MODIFIED'), h(0, 5))],
    ['a bookmark without a resourceVersion', event(bytes('BOOKMARK'), null)],
  ];
  for (const [what, frame] of cases) {
    assert.throws(() => read([cat(ok, frame, ok)]), WatchFrameError, what);
    // Fed byte by byte the same frames are refused as well (a frame never ends early).
    assert.throws(() => read(Array.from(cat(frame, ok), (b) => Buffer.from([b]))), WatchFrameError, what);
  }
});

test('a frame that is not complete yet waits for its bytes and never comes out early', () => {
  const a = event(bytes('ADDED'), bytes('8'));
  const out = read([a.subarray(0, a.length - 1)]);
  assert.deepEqual(out, []);
});
