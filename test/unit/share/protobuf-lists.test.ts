import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  objectSummary,
  parseProtobufList,
  protobufEventObject,
  protobufListBody,
} from '../../../src/share/protobuf-items.ts';
import { lengthDelimited, MAGIC, ProtobufLayoutError } from '../../../src/share/protobuf-wire.ts';

// Messages built field by field as kube-apiserver's generated marshallers lay them out.
const ld = (num: number, ...parts: Buffer[]): Buffer => {
  const out: Buffer[] = [];
  lengthDelimited(out, num, parts);
  return Buffer.concat(out);
};
const str = (num: number, s: string) => ld(num, Buffer.from(s));
const label = (k: string, v: string) => ld(11, str(1, k), str(2, v));
/** A ConfigMap message: ObjectMeta (name 1, namespace 3, resourceVersion 6, generation 7 varint, labels 11), data. */
const configMap = (name: string, labels: [string, string][]) =>
  Buffer.concat([
    ld(
      1,
      str(1, name),
      str(2, ''),
      str(3, 'ns'),
      str(6, '42'),
      Buffer.from([7 << 3, 0]),
      ...labels.map(([k, v]) => label(k, v)),
    ),
    ld(2, str(1, 'k'), str(2, 'v')),
  ]);
const typeMeta = Buffer.concat([str(1, 'v1'), str(2, 'ConfigMapList')]);

test('a protobuf list is taken apart into its items and put back together byte for byte', () => {
  const items = [configMap('a', [['app', 'web']]), configMap('b', [])];
  const body = protobufListBody(typeMeta, 77n, items);
  assert.deepEqual(body.subarray(0, 4), MAGIC);
  const list = parseProtobufList(body);
  assert.equal(list.rv, 77n);
  assert.deepEqual(list.typeMeta, typeMeta);
  assert.deepEqual(list.items, items);
  assert.deepEqual(objectSummary(items[0]), { name: 'a', namespace: 'ns', labels: { app: 'web' } });
  assert.deepEqual(objectSummary(items[1]), { name: 'b', namespace: 'ns', labels: undefined });
});

test('a list the gateway would not write the same way, or cut, is refused', () => {
  const body = protobufListBody(typeMeta, 5n, [configMap('a', [])]);
  // The envelope's contentEncoding set (a compressed raw): not reproduced.
  const encoded = Buffer.concat([body.subarray(0, -4), str(3, 'gzip'), str(4, '')]);
  assert.throws(() => parseProtobufList(encoded), ProtobufLayoutError);
  assert.throws(() => parseProtobufList(body.subarray(0, body.length - 7)), ProtobufLayoutError);
  assert.throws(() => parseProtobufList(Buffer.from('{"kind":"ConfigMapList"}')), ProtobufLayoutError);
  // remainingItemCount (field 4 of ListMeta), which the watch cache never sets: laid out otherwise.
  const listMeta = Buffer.concat([str(1, ''), str(2, '5'), str(3, ''), Buffer.from([4 << 3, 1])]);
  const raw = Buffer.concat([ld(1, listMeta), ld(2, configMap('a', []))]);
  const other = Buffer.concat([MAGIC, ld(1, typeMeta), ld(2, raw), str(3, ''), str(4, '')]);
  assert.throws(() => parseProtobufList(other), /laid out otherwise/);
});

test("a protobuf watch frame gives its type and the object's message", () => {
  const item = configMap('a', [['x', 'y']]);
  const object = Buffer.concat([
    MAGIC,
    ld(1, str(1, 'v1'), str(2, 'ConfigMap')),
    ld(2, item),
    str(3, ''),
    str(4, ''),
  ]);
  const event = Buffer.concat([str(1, 'MODIFIED'), ld(2, ld(1, object))]);
  const frame = Buffer.alloc(4 + event.length);
  frame.writeUInt32BE(event.length);
  event.copy(frame, 4);
  const e = protobufEventObject(frame);
  assert.equal(e.type, 'MODIFIED');
  assert.deepEqual(e.item, item);
  assert.throws(() => protobufEventObject(frame.subarray(0, 10)), ProtobufLayoutError);
});
