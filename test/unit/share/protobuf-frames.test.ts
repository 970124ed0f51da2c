import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WatchEvent } from '../../../src/share/event.ts';
import { WatchFrameError } from '../../../src/share/json-frames.ts';
import { ProtobufFrameReader } from '../../../src/share/protobuf-frames.ts';

// A minimal protobuf writer for the messages of kube-apiserver's protobuf watch stream.
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
const bytesField = (num: number, v: Buffer | string) => {
  const b = typeof v === 'string' ? Buffer.from(v) : v;
  return Buffer.concat([varint((num << 3) | 2), varint(b.length), b]);
};
const varintField = (num: number, v: number) => Buffer.concat([varint(num << 3), varint(v)]);
const MAGIC = Buffer.from('k8s\0', 'latin1');
const unknown = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([
    MAGIC,
    bytesField(1, Buffer.concat([bytesField(1, apiVersion), bytesField(2, kind)])),
    bytesField(2, raw),
    bytesField(4, 'application/vnd.kubernetes.protobuf'),
  ]);

/** One watch frame: length + WatchEvent{type, RawExtension{k8s\0 + Unknown{ConfigMap{metadata}}}}. */
function frame(type: string, rv: string | null, enveloped = false): Buffer {
  const meta = Buffer.concat([
    bytesField(1, 'a'),
    bytesField(3, 'default'),
    bytesField(5, 'uid-1'),
    ...(rv === null ? [] : [bytesField(6, rv)]),
    varintField(7, 3), // generation: a varint field before and after are skipped
  ]);
  const obj =
    type === 'ERROR'
      ? unknown('v1', 'Status', Buffer.concat([bytesField(3, 'Failure'), varintField(6, 410)]))
      : unknown('v1', 'ConfigMap', Buffer.concat([bytesField(1, meta), bytesField(2, 'data')]));
  const event = Buffer.concat([bytesField(1, type), bytesField(2, bytesField(1, obj))]);
  // The watch stream's raw serializer writes the WatchEvent without an envelope.
  const payload = enveloped ? unknown('v1', 'WatchEvent', event) : event;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(payload.length);
  return Buffer.concat([len, payload]);
}

test('protobuf frames come out whole across any cut, with their type and resourceVersion', () => {
  const frames = [
    frame('ADDED', '11'),
    frame('BOOKMARK', '300'),
    frame('DELETED', '301'),
    frame('ERROR', null),
  ];
  const all = Buffer.concat(frames);
  for (const cut of [1, 3, 4, 5, 40, frames[0].length, all.length - 1]) {
    const r = new ProtobufFrameReader(10n);
    const out: WatchEvent[] = [];
    r.push(all.subarray(0, cut), (e) => out.push(e));
    r.push(all.subarray(cut), (e) => out.push(e));
    assert.deepEqual(
      out.map((e) => [e.kind, e.rv]),
      [
        ['event', 11n],
        ['bookmark', 300n],
        ['event', 301n],
        ['error', 301n],
      ],
      `cut at ${cut}`,
    );
    assert.deepEqual(Buffer.concat(out.map((e) => e.bytes)), all, 'the same bytes as sent');
  }
});

test('a protobuf event without a resourceVersion, or not a WatchEvent, is an error', () => {
  assert.throws(() => new ProtobufFrameReader(1n).push(frame('ADDED', null), () => {}), WatchFrameError);
  const junk = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('abc')]);
  assert.throws(() => new ProtobufFrameReader(1n).push(junk, () => {}), WatchFrameError);
});
