import { JSONLayoutError, members } from './json-items.ts';
import { objectMetaJSON } from './object-meta-json.ts';
import { objectMetaProtobuf } from './object-meta-protobuf.ts';
import { protobufListBody } from './protobuf-items.ts';
import { field, lengthDelimited, ProtobufLayoutError } from './protobuf-wire.ts';

// A PartialObjectMetadataList (`Accept: …;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io`, what
// metadata informers send) made from a watch cache's items, as kube-apiserver makes it
// (`asPartialObjectMetadataList`): each object's ObjectMeta as it is, wrapped in a
// PartialObjectMetadata with kind and apiVersion set, inside a list with the list's
// resourceVersion. The ObjectMeta bytes are the object's own: Go writes the same struct the same
// way in both (JSON) and gogo-protobuf writes the same message the same way (protobuf). Custom
// resources are unstructured: the apiserver copies their metadata into the ObjectMeta struct,
// whose JSON is rebuilt from the object's own (object-meta-json.ts) and whose protobuf is written
// from that (object-meta-protobuf.ts), both from the JSON cache. The answer's Content-Type is
// the plain media type (`application/json`, `application/vnd.kubernetes.protobuf`): the
// conversion is not named.

const LIST_TYPE = '"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1"';
const ITEM_HEAD = Buffer.from('{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":');
const ITEM_TAIL = Buffer.from('}');
const COMMA = Buffer.from(',');
const LIST_TAIL = Buffer.from(']}\n');

/** runtime.TypeMeta {1 apiVersion, 2 kind} of the protobuf envelope. */
const PROTOBUF_TYPE_META = (() => {
  const out: Buffer[] = [];
  lengthDelimited(out, 1, [Buffer.from('meta.k8s.io/v1')]);
  lengthDelimited(out, 2, [Buffer.from('PartialObjectMetadataList')]);
  return Buffer.concat(out);
})();

const jsonMetas = new WeakMap<Buffer, Buffer>();
const customResourceMetas = new WeakMap<Buffer, Buffer | null>();
const customResourcePartials = new WeakMap<Buffer, Buffer | null>();
const protobufMetas = new WeakMap<Buffer, Buffer>();

/** The `metadata` member's bytes of a typed list item (its first member, as Go writes every built-in type). */
export function jsonItemMetadata(item: Buffer): Buffer {
  let meta = jsonMetas.get(item);
  if (meta === undefined) {
    const m = members(item)[0];
    if (m?.name !== 'metadata') throw new JSONLayoutError('a list item without metadata first');
    meta = item.subarray(m.start, m.end);
    jsonMetas.set(item, meta);
  }
  return meta;
}

/**
 * The metadata of a custom resource's list item (its `metadata` member, wherever the sorted keys
 * put it) as metav1.ObjectMeta's JSON, or null when it is not rebuilt exactly.
 */
export function customResourceItemMetadata(item: Buffer): Buffer | null {
  let meta = customResourceMetas.get(item);
  if (meta === undefined) {
    const m = members(item).find((x) => x.name === 'metadata');
    meta = m === undefined ? null : objectMetaJSON(item, m.start, m.end);
    customResourceMetas.set(item, meta);
  }
  return meta;
}

/** The PartialObjectMetadata message of a custom resource's list item, or null (see customResourceItemMetadata). */
export function customResourceItemPartial(item: Buffer): Buffer | null {
  let partial = customResourcePartials.get(item);
  if (partial === undefined) {
    const meta = customResourceItemMetadata(item);
    partial = null;
    if (meta !== null) {
      const out: Buffer[] = [];
      lengthDelimited(out, 1, [objectMetaProtobuf(meta)]);
      partial = Buffer.concat(out);
    }
    customResourcePartials.set(item, partial);
  }
  return partial;
}

/**
 * The PartialObjectMetadata message of an object message: ObjectMeta is field 1 of every
 * built-in type's message (`optional ObjectMeta metadata = 1`), and of PartialObjectMetadata.
 */
export function protobufItemMetadata(item: Buffer): Buffer {
  let partial = protobufMetas.get(item);
  if (partial === undefined) {
    const meta = field(item, 0, item.length, 1);
    if (meta === null) throw new ProtobufLayoutError('an object without metadata');
    const out: Buffer[] = [];
    lengthDelimited(out, 1, [item.subarray(meta[0], meta[1])]);
    partial = Buffer.concat(out);
    protobufMetas.set(item, partial);
  }
  return partial;
}

/** The JSON PartialObjectMetadataList of these typed list items at `rv`. */
export function jsonMetadataListBody(rv: bigint, items: Iterable<Buffer>): Buffer {
  return metadataListBody(rv, items, jsonItemMetadata)!;
}

/** The JSON PartialObjectMetadataList of these custom resource list items at `rv`, or null (see customResourceItemMetadata). */
export function customResourceMetadataListBody(rv: bigint, items: Iterable<Buffer>): Buffer | null {
  return metadataListBody(rv, items, customResourceItemMetadata);
}

function metadataListBody(
  rv: bigint,
  items: Iterable<Buffer>,
  metadataOf: (item: Buffer) => Buffer | null,
): Buffer | null {
  const parts: Buffer[] = [Buffer.from(`{${LIST_TYPE},"metadata":{"resourceVersion":"${rv}"},"items":[`)];
  let first = true;
  for (const item of items) {
    const meta = metadataOf(item);
    if (meta === null) return null;
    if (!first) parts.push(COMMA);
    parts.push(ITEM_HEAD, meta, ITEM_TAIL);
    first = false;
  }
  // No items: the list's Items slice is nil, which encoding/json writes as null.
  if (first) return Buffer.from(`{${LIST_TYPE},"metadata":{"resourceVersion":"${rv}"},"items":null}\n`);
  parts.push(LIST_TAIL);
  return Buffer.concat(parts);
}

/** The protobuf PartialObjectMetadataList of these object messages at `rv`. */
export function protobufMetadataListBody(rv: bigint, items: Iterable<Buffer>): Buffer {
  const partials: Buffer[] = [];
  for (const item of items) partials.push(protobufItemMetadata(item));
  return protobufListBody(PROTOBUF_TYPE_META, rv, partials);
}

/** The protobuf PartialObjectMetadataList of these custom resource list items at `rv`, or null (see customResourceItemMetadata). */
export function customResourceProtobufMetadataListBody(rv: bigint, items: Iterable<Buffer>): Buffer | null {
  const partials: Buffer[] = [];
  for (const item of items) {
    const partial = customResourceItemPartial(item);
    if (partial === null) return null;
    partials.push(partial);
  }
  return protobufListBody(PROTOBUF_TYPE_META, rv, partials);
}
