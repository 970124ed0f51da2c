// A custom resource's PartialObjectMetadataList, rebuilt from its (unstructured) list as
// kube-apiserver v1.37.2 writes it: lists captured in testdata/ (`resourceVersion=0`, namespace
// `meta`, gadgets.example.com with a status subresource) — one object with labels ("10" and "9"),
// annotations Go escapes (<, >, &, U+2028, U+2029, a control character, quotes) and does not (é,
// ☃), three ownerReferences (controller and blockOwnerDeletion true, false, unset), finalizers and
// managedFields of a create, a server-side apply and the status subresource; one made with
// generateName; one being deleted (a finalizer holds it: deletionTimestamp and
// deletionGracePeriodSeconds); one bare. `gadgets-selected.json` is `labelSelector=app=x`. Each
// metadata list must be the apiserver's bytes for the same Accept: JSON, and protobuf for
// client-go's metadata `Accept` (the CRD handler serves protobuf for this conversion).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseJSONList } from '../../../src/share/json-lists.ts';
import {
  customResourceMetadataListBody,
  customResourceProtobufMetadataListBody,
} from '../../../src/share/metadata-lists.ts';
import { objectMetaJSON } from '../../../src/share/object-meta-json.ts';
import { parseProtobufList } from '../../../src/share/protobuf-items.ts';

const TESTDATA = new URL('./testdata/', import.meta.url);
const read = (name: string): Buffer => readFileSync(new URL(name, TESTDATA));

const jsonRV = (body: Buffer): bigint =>
  BigInt((JSON.parse(body.toString()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);

test("a custom resource's list makes the apiserver's JSON PartialObjectMetadataList byte for byte", () => {
  const list = parseJSONList(read('gadgets.json'));
  assert.equal(list.layout.unstructured, true);
  assert.equal(list.items.length, 4);
  const want = read('gadgets-metadata.json');
  assert.equal(jsonRV(want), list.rv, 'captured at one version');
  assert.deepEqual(customResourceMetadataListBody(list.rv, list.items), want);
  const empty = read('gadgets-metadata-empty.json');
  assert.deepEqual(customResourceMetadataListBody(jsonRV(empty), []), empty);
});

test('a label-selected list makes the selected metadata list', () => {
  const list = parseJSONList(read('gadgets-selected.json'));
  assert.equal(list.items.length, 2);
  const want = read('gadgets-metadata-selected.json');
  assert.deepEqual(customResourceMetadataListBody(jsonRV(want), list.items), want);
});

test("client-go's metadata Accept gets the protobuf PartialObjectMetadataList, made from the JSON list", () => {
  const list = parseJSONList(read('gadgets.json'));
  const want = read('gadgets-metadata-client-go.pb');
  const metadata = parseProtobufList(want);
  assert.equal(metadata.rv, list.rv, 'captured at one version');
  assert.deepEqual(customResourceProtobufMetadataListBody(list.rv, list.items), want);
});

const meta = (json: string): string | undefined => objectMetaJSON(Buffer.from(json))?.toString();

test('ObjectMeta members go in struct order, empty ones left out, values kept as they are', () => {
  assert.equal(
    meta(
      '{"annotations":{"a":"\\u003c"},"creationTimestamp":"2026-01-02T03:04:05Z","deletionGracePeriodSeconds":0,' +
        '"finalizers":["f"],"generateName":"","generation":0,"labels":{},"managedFields":[{"apiVersion":"v1",' +
        '"fieldsType":"FieldsV1","fieldsV1":{"f:a":{}},"manager":"m","operation":"Update","subresource":"status",' +
        '"time":"2026-01-02T03:04:05Z"}],"name":"n","namespace":"ns","ownerReferences":[{"apiVersion":"v1",' +
        '"blockOwnerDeletion":false,"controller":true,"kind":"K","name":"o","uid":"u"}],"resourceVersion":"7",' +
        '"selfLink":null,"uid":"x"}',
    ),
    '{"name":"n","namespace":"ns","uid":"x","resourceVersion":"7","creationTimestamp":"2026-01-02T03:04:05Z",' +
      '"deletionGracePeriodSeconds":0,"annotations":{"a":"\\u003c"},"ownerReferences":[{"apiVersion":"v1",' +
      '"kind":"K","name":"o","uid":"u","controller":true,"blockOwnerDeletion":false}],"finalizers":["f"],' +
      '"managedFields":[{"manager":"m","operation":"Update","apiVersion":"v1","time":"2026-01-02T03:04:05Z",' +
      '"fieldsType":"FieldsV1","fieldsV1":{"f:a":{}},"subresource":"status"}]}',
  );
  // An owner reference's four strings are always written.
  assert.equal(
    meta('{"ownerReferences":[{"uid":"u"}]}'),
    '{"ownerReferences":[{"apiVersion":"","kind":"","name":"","uid":"u"}]}',
  );
  assert.equal(meta('{}'), '{}');
});

test('metadata the apiserver would write otherwise is refused (the list is forwarded)', () => {
  for (const json of [
    '{"name":"n","clusterName":"c"}', // unknown member: the getters drop it
    '{"creationTimestamp":"2026-01-02T03:04:05.5Z"}', // not whole seconds
    '{"creationTimestamp":"2026-01-02T04:04:05+01:00"}', // not UTC
    '{"creationTimestamp":"2026-13-02T03:04:05Z"}',
    '{"generation":1.0}',
    '{"generation":"1"}',
    '{"labels":{"a":1}}',
    '{"labels":{"a":null}}', // read as ""
    '{"labels":{"é":"x"}}',
    '{"finalizers":[1]}',
    '{"ownerReferences":[{"uid":"u","extra":1}]}',
    '{"ownerReferences":[{"uid":"u","controller":"yes"}]}',
    '{"managedFields":[{"manager":"m","time":""}]}', // the converter fails: every entry dropped
    '{"managedFields":[{"manager":"m","fieldsV1":[]}]}',
    '{"name": "n"}', // not Go's compact JSON
    '{"name":"n","name":"m"}',
  ])
    assert.equal(meta(json), undefined, json);
  const list = parseJSONList(read('gadgets.json'));
  const odd = Buffer.from(list.items[0].toString().replace('"metadata":{', '"metadata":{"zzz":1,'));
  assert.equal(customResourceMetadataListBody(list.rv, [list.items[1], odd]), null);
  assert.equal(customResourceProtobufMetadataListBody(list.rv, [odd]), null);
});
