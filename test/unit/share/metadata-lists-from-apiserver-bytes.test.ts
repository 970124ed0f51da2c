// Lists and watch frames captured from kube-apiserver v1.37.2 (testdata/, `resourceVersion=0`,
// answered by its watch cache): four ConfigMaps (kube-root-ca.crt and three with labels "10" and
// "9", which Go sorts "10" first, a non-ASCII annotation and a finalizer), and two objects of a custom resource (widgets.example.com). Each is taken apart the
// way a watch cache takes its LIST apart and put back together; the metadata lists are made
// from the objects' lists and must be the bytes the apiserver sent for the same Accept.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { members } from '../../../src/share/json-items.ts';
import { parseJSONList } from '../../../src/share/json-lists.ts';
import { jsonMetadataListBody, protobufMetadataListBody } from '../../../src/share/metadata-lists.ts';
import { parseProtobufList } from '../../../src/share/protobuf-items.ts';

const TESTDATA = new URL('./testdata/', import.meta.url);
const read = (name: string): Buffer => readFileSync(new URL(name, TESTDATA));

const jsonRV = (body: Buffer): bigint =>
  BigInt((JSON.parse(body.toString()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);

/** The JSON lines of a watch, without bookmarks. */
const watchLines = (body: Buffer): Buffer[] => {
  const out: Buffer[] = [];
  let from = 0;
  for (let i = body.indexOf(0x0a); i >= 0; i = body.indexOf(0x0a, from)) {
    const line = body.subarray(from, i + 1);
    if (!line.toString('latin1', 0, 18).startsWith('{"type":"BOOKMARK"')) out.push(line);
    from = i + 1;
  }
  return out;
};

test("a ConfigMap list's items make the apiserver's JSON PartialObjectMetadataList byte for byte", () => {
  const list = parseJSONList(read('configmaps.json'));
  assert.equal(list.layout.unstructured, false);
  assert.equal(list.items.length, 4);
  const want = read('configmaps-metadata.json');
  assert.deepEqual(jsonMetadataListBody(jsonRV(want), list.items), want);
  const empty = read('configmaps-metadata-empty.json');
  assert.deepEqual(jsonMetadataListBody(jsonRV(empty), []), empty);
});

test("a ConfigMap protobuf list's items make the apiserver's protobuf PartialObjectMetadataList byte for byte", () => {
  const list = parseProtobufList(read('configmaps.pb'));
  assert.equal(list.items.length, 4);
  const want = read('configmaps-metadata.pb');
  const metadata = parseProtobufList(want); // the same list layout as any protobuf list
  assert.deepEqual(protobufMetadataListBody(metadata.rv!, list.items), want);
  const empty = read('configmaps-metadata-empty.pb');
  assert.deepEqual(protobufMetadataListBody(parseProtobufList(empty).rv!, []), empty);
});

test("a custom resource's unstructured list is taken apart and put back, its watch objects are its items", () => {
  const body = read('widgets.json');
  const list = parseJSONList(body);
  assert.equal(list.layout.unstructured, true);
  assert.equal(list.items.length, 2);
  assert.deepEqual(list.layout.body(list.rv, list.items), body);
  // A selector that matches nothing, and a later version: only the resourceVersion changes.
  const empty = read('widgets-empty.json');
  assert.deepEqual(list.layout.body(jsonRV(empty), []), empty);
  const frames = watchLines(read('widgets-watch.json'));
  assert.equal(frames.length, 2, 'an ADDED frame per object');
  for (const [i, frame] of frames.entries()) {
    const object = members(frame).find((m) => m.name === 'object')!;
    assert.deepEqual(list.layout.item(frame.subarray(object.start, object.end)), list.items[i]);
    assert.deepEqual(Buffer.concat(list.layout.added(list.items[i])), frame);
  }
});

test("a ConfigMap list's watch frames lose kind and apiVersion to become its items, and come back", () => {
  const list = parseJSONList(read('configmaps.json'));
  const frames = watchLines(read('configmaps-watch.json'));
  assert.equal(frames.length, 4);
  for (const [i, frame] of frames.entries()) {
    const object = members(frame).find((m) => m.name === 'object')!;
    assert.deepEqual(list.layout.item(frame.subarray(object.start, object.end)), list.items[i]);
    assert.deepEqual(Buffer.concat(list.layout.added(list.items[i])), frame);
  }
});

test('lists in layouts the gateway does not write back are refused', () => {
  const body = read('widgets.json').toString();
  for (const other of [
    body.replace('"kind":"WidgetList"', '"kind":"WidgetList","x":1'),
    body.replace('"metadata":{"continue":""', '"metadata":{"continue":"x"'),
    `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7","remainingItemCount":1},"items":[]}\n`,
    `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[{"kind":"ConfigMap"}]}\n`,
  ])
    assert.throws(() => parseJSONList(Buffer.from(other)), { name: 'JSONLayoutError' }, other.slice(0, 80));
});
