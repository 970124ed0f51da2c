import { arrayElements, objectMembers } from './object-meta-json.ts';
import { lengthDelimited } from './protobuf-wire.ts';

// A custom resource's metadata as kube-apiserver writes it in a protobuf PartialObjectMetadataList
// (its CRD handler serves protobuf for the meta.k8s.io conversions, though not for the objects):
// the metav1.ObjectMeta message gogo-protobuf writes (k8s.io/apimachinery v0.37.2
// generated.pb.go), made from the ObjectMeta JSON object-meta-json.ts rebuilt. Fields go in
// number order; strings, generation and creationTimestamp are written even when empty, pointers
// and lists only when set; maps as entries {1: key, 2: value} in sorted key order (the JSON's);
// a Time is a Timestamp {1: seconds, 2: nanos (always 0: JSON holds whole seconds)}; fieldsV1
// is its raw JSON.

function varint(n: bigint): Buffer {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

const KEYS = new Map<number, Buffer>();
const SMALL = [varint(0n), varint(1n)];

/** Field `num` as a varint. */
function varintField(out: Buffer[], num: number, n: bigint): void {
  let key = KEYS.get(num);
  if (key === undefined) KEYS.set(num, (key = varint(BigInt(num * 8))));
  out.push(key, n === 0n || n === 1n ? SMALL[Number(n)] : varint(n));
}

/** The string of a JSON string's bytes, as UTF-8. */
function text(b: Buffer, at: [number, number] | undefined): Buffer {
  if (at === undefined) return Buffer.alloc(0);
  return Buffer.from(JSON.parse(b.toString('utf8', at[0], at[1])) as string, 'utf8');
}

/** A Timestamp message of a canonical RFC 3339 JSON string (`"…Z"`, whole seconds). */
function timestamp(b: Buffer, at: [number, number] | undefined): Buffer[] {
  if (at === undefined) return [];
  const out: Buffer[] = [];
  varintField(out, 1, BigInt(Date.parse(b.toString('latin1', at[0] + 1, at[1] - 1)) / 1000));
  varintField(out, 2, 0n);
  return out;
}

function stringMap(out: Buffer[], num: number, b: Buffer, at: [number, number] | undefined): void {
  if (at === undefined) return;
  for (const [key, value] of objectMembers(b, at[0], at[1])) {
    const entry: Buffer[] = [];
    lengthDelimited(entry, 1, [Buffer.from(key, 'utf8')]);
    lengthDelimited(entry, 2, [text(b, value)]);
    lengthDelimited(out, num, entry);
  }
}

function ownerReference(b: Buffer, s: number, e: number): Buffer[] {
  const m = objectMembers(b, s, e);
  const out: Buffer[] = [];
  lengthDelimited(out, 1, [text(b, m.get('kind'))]);
  lengthDelimited(out, 3, [text(b, m.get('name'))]);
  lengthDelimited(out, 4, [text(b, m.get('uid'))]);
  lengthDelimited(out, 5, [text(b, m.get('apiVersion'))]);
  for (const [num, name] of [
    [6, 'controller'],
    [7, 'blockOwnerDeletion'],
  ] as const) {
    const at = m.get(name);
    if (at !== undefined) varintField(out, num, b[at[0]] === 0x74 /* true */ ? 1n : 0n);
  }
  return out;
}

function managedFieldsEntry(b: Buffer, s: number, e: number): Buffer[] {
  const m = objectMembers(b, s, e);
  const out: Buffer[] = [];
  lengthDelimited(out, 1, [text(b, m.get('manager'))]);
  lengthDelimited(out, 2, [text(b, m.get('operation'))]);
  lengthDelimited(out, 3, [text(b, m.get('apiVersion'))]);
  const time = m.get('time');
  if (time !== undefined) lengthDelimited(out, 4, timestamp(b, time));
  lengthDelimited(out, 6, [text(b, m.get('fieldsType'))]);
  const fields = m.get('fieldsV1');
  if (fields !== undefined) {
    const raw: Buffer[] = [];
    // FieldsV1 {1: raw}, left out when empty (JSON never makes it empty: `{}` at least).
    lengthDelimited(raw, 1, [b.subarray(fields[0], fields[1])]);
    lengthDelimited(out, 7, raw);
  }
  lengthDelimited(out, 8, [text(b, m.get('subresource'))]);
  return out;
}

/** The metav1.ObjectMeta message of ObjectMeta JSON as objectMetaJSON writes it. */
export function objectMetaProtobuf(json: Buffer): Buffer {
  const m = objectMembers(json, 0, json.length);
  const out: Buffer[] = [];
  const names = ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion'];
  for (const [i, name] of names.entries()) lengthDelimited(out, i + 1, [text(json, m.get(name))]);
  const generation = m.get('generation');
  varintField(out, 7, generation === undefined ? 0n : BigInt(json.toString('latin1', ...generation)));
  lengthDelimited(out, 8, timestamp(json, m.get('creationTimestamp')));
  const deletion = m.get('deletionTimestamp');
  if (deletion !== undefined) lengthDelimited(out, 9, timestamp(json, deletion));
  const grace = m.get('deletionGracePeriodSeconds');
  if (grace !== undefined) varintField(out, 10, BigInt(json.toString('latin1', ...grace)));
  stringMap(out, 11, json, m.get('labels'));
  stringMap(out, 12, json, m.get('annotations'));
  const owners = m.get('ownerReferences');
  if (owners !== undefined)
    for (const [s, e] of arrayElements(json, owners[0], owners[1]))
      lengthDelimited(out, 13, ownerReference(json, s, e));
  const finalizers = m.get('finalizers');
  if (finalizers !== undefined)
    for (const at of arrayElements(json, finalizers[0], finalizers[1]))
      lengthDelimited(out, 14, [text(json, at)]);
  const entries = m.get('managedFields');
  if (entries !== undefined)
    for (const [s, e] of arrayElements(json, entries[0], entries[1]))
      lengthDelimited(out, 17, managedFieldsEntry(json, s, e));
  return Buffer.concat(out);
}
