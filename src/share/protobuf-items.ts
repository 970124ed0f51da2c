import { parseResourceVersion } from './event.ts';
import { field, lengthDelimited, MAGIC, ProtobufLayoutError, unwrap, wireFields } from './protobuf-wire.ts';

// kube-apiserver's protobuf list (`application/vnd.kubernetes.protobuf`): `k8s\0` + runtime.Unknown
// {1 typeMeta, 2 raw, 3 contentEncoding, 4 contentType}, whose raw is the list message {1 ListMeta
// {1 selfLink, 2 resourceVersion, 3 continue, 4 remainingItemCount}, 2 items…}. Its generated
// marshallers write every string field, empty ones too, and leave out a nil pointer; a list is put
// back together from the items' own bytes in that layout, which is checked against the apiserver's
// answer before a cache trusts it.

/** The fields of an object's ObjectMeta that selectors read. */
export interface ObjectSummary {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>> | undefined;
}

/** A list's type (the envelope's TypeMeta bytes), resourceVersion and item messages. */
export interface ProtobufList {
  readonly typeMeta: Buffer;
  readonly rv: bigint | null;
  readonly items: Buffer[];
}

const EMPTY_STRING = (num: number): Buffer => Buffer.from([num * 8 + 2, 0]);

/** ObjectMeta's name (1), namespace (3) and labels (11) of the object message `item`. */
export function objectSummary(item: Buffer): ObjectSummary {
  const meta = field(item, 0, item.length, 1);
  if (meta === null) throw new ProtobufLayoutError('an object without metadata');
  let name = '';
  let namespace = '';
  let labels: Record<string, string> | undefined;
  for (const f of wireFields(item, meta[0], meta[1])) {
    if (f.wire !== 2) continue;
    if (f.num === 1) name = item.toString('utf8', f.start, f.end);
    else if (f.num === 3) namespace = item.toString('utf8', f.start, f.end);
    else if (f.num === 11) {
      let key = '';
      let value = '';
      for (const e of wireFields(item, f.start, f.end)) {
        if (e.num === 1 && e.wire === 2) key = item.toString('utf8', e.start, e.end);
        else if (e.num === 2 && e.wire === 2) value = item.toString('utf8', e.start, e.end);
      }
      (labels ??= {})[key] = value;
    }
  }
  return { name, namespace, labels };
}

/** The list in `body`, or a ProtobufLayoutError when it is not one the gateway can put back together. */
export function parseProtobufList(body: Buffer): ProtobufList {
  if (body.length < 4 || body.compare(MAGIC, 0, 4, 0, 4) !== 0)
    throw new ProtobufLayoutError('a list without the k8s envelope');
  let typeMeta: Buffer | null = null;
  let raw: [number, number] | null = null;
  for (const f of wireFields(body, 4, body.length)) {
    if (f.num === 1 && f.wire === 2) typeMeta = body.subarray(f.start, f.end);
    else if (f.num === 2 && f.wire === 2) raw = [f.start, f.end];
    else if ((f.num === 3 || f.num === 4) && f.end > f.start)
      throw new ProtobufLayoutError(`an envelope with field ${f.num} set (an encoding)`);
  }
  if (typeMeta === null || raw === null) throw new ProtobufLayoutError('an envelope without type or raw');
  let rv: bigint | null = null;
  const items: Buffer[] = [];
  for (const f of wireFields(body, raw[0], raw[1])) {
    if (f.num === 1 && f.wire === 2) {
      const v = field(body, f.start, f.end, 2);
      rv = v === null ? null : parseResourceVersion(body.toString('latin1', v[0], v[1]));
    } else if (f.num === 2 && f.wire === 2) items.push(body.subarray(f.start, f.end));
  }
  const list = { typeMeta, rv, items };
  if (rv === null) throw new ProtobufLayoutError('a list without an orderable resourceVersion');
  if (!protobufListBody(typeMeta, rv, items).equals(body))
    throw new ProtobufLayoutError('a list laid out otherwise than the gateway writes one');
  return list;
}

/** The list kube-apiserver writes for these items at `rv`. */
export function protobufListBody(typeMeta: Buffer, rv: bigint, items: Iterable<Buffer>): Buffer {
  const listMeta: Buffer[] = [EMPTY_STRING(1)];
  lengthDelimited(listMeta, 2, [Buffer.from(String(rv), 'latin1')]);
  listMeta.push(EMPTY_STRING(3));
  const list: Buffer[] = [];
  lengthDelimited(list, 1, listMeta);
  for (const item of items) lengthDelimited(list, 2, [item]);
  const out: Buffer[] = [MAGIC];
  lengthDelimited(out, 1, [typeMeta]);
  lengthDelimited(out, 2, list);
  out.push(EMPTY_STRING(3), EMPTY_STRING(4));
  return Buffer.concat(out);
}

/** The type and object message of one protobuf watch frame (4-byte length first, as framed). */
export function protobufEventObject(frame: Buffer): { type: string; item: Buffer } {
  const end = frame.length;
  const event = end - 4 >= 4 && frame.compare(MAGIC, 0, 4, 4, 8) === 0 ? unwrap(frame, 4, end) : [4, end];
  const type = event && field(frame, event[0], event[1], 1);
  const ext = event && field(frame, event[0], event[1], 2);
  const raw = ext && field(frame, ext[0], ext[1], 1);
  const obj = raw && unwrap(frame, raw[0], raw[1]);
  if (type === null || obj === null) throw new ProtobufLayoutError('a watch event without type or object');
  return { type: frame.toString('latin1', type[0], type[1]), item: frame.subarray(obj[0], obj[1]) };
}
