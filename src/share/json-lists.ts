import { parseResourceVersion } from './event.ts';
import { elements, JSONLayoutError, members, withoutTypeMeta } from './json-items.ts';

// The two layouts of kube-apiserver's JSON lists, both written with Go's encoding/json:
// - a built-in type's list is a typed struct: `{"kind","apiVersion","metadata":{"resourceVersion"},
//   "items":[…]}`, its items without kind and apiVersion (a watch event's object has them first);
// - a custom resource's list is unstructured, a map written in sorted key order:
//   `{"apiVersion","items":[…],"kind","metadata":{…}}`, its items maps too, with kind and
//   apiVersion as in its watch events (`metadata` here carries `"continue":""` beside the version).
// A list is put back together from its items' own bytes; the layout is checked against the
// apiserver's answer before a cache trusts it.

/** One layout: how a cache writes its lists and reads its watch events' objects. */
export interface JSONListLayout {
  /** A custom resource's (unstructured) list. */
  readonly unstructured: boolean;
  /** The list of these items at `rv`. */
  body(rv: bigint, items: Iterable<Buffer>): Buffer;
  /** A watch event's object as a list item (a copy: the event's bytes are not kept). */
  item(object: Buffer): Buffer;
  /** The ADDED event of a list item, as a watch from resourceVersion 0 starts (a JSON line). */
  added(item: Buffer): Buffer[];
}

/** A list's layout, resourceVersion and items (views into the body). */
export interface JSONList {
  readonly layout: JSONListLayout;
  readonly rv: bigint;
  readonly items: Buffer[];
}

const COMMA = Buffer.from(',');
const UNSTRUCTURED_META = new Set(['{"continue":"","resourceVersion":""}', '{"resourceVersion":""}']);
const ADDED = Buffer.from('{"type":"ADDED","object":');
const EVENT_TAIL = Buffer.from('}\n');

function join(open: string, items: Iterable<Buffer>, close: string): Buffer {
  const parts: Buffer[] = [Buffer.from(open)];
  let first = true;
  for (const item of items) {
    if (!first) parts.push(COMMA);
    parts.push(item);
    first = false;
  }
  parts.push(Buffer.from(close));
  return Buffer.concat(parts);
}

function typed(head: string, objectHead: string): JSONListLayout {
  const open = Buffer.from(`{"type":"ADDED","object":{${objectHead},`);
  return {
    unstructured: false,
    body: (rv, items) => join(`{${head},"metadata":{"resourceVersion":"${rv}"},"items":[`, items, ']}\n'),
    item: withoutTypeMeta,
    added: (item) => [open, item.subarray(1), EVENT_TAIL],
  };
}

function unstructured(
  apiVersion: string,
  kind: string,
  metaBefore: string,
  metaAfter: string,
): JSONListLayout {
  return {
    unstructured: true,
    body: (rv, items) =>
      join(`{${apiVersion},"items":[`, items, `],${kind},"metadata":${metaBefore}${rv}${metaAfter}}\n`),
    item: (object) => Buffer.from(object),
    added: (item) => [ADDED, item, EVENT_TAIL],
  };
}

/** The list in `body`, or a JSONLayoutError when it is not one the gateway writes back byte for byte. */
export function parseJSONList(body: Buffer): JSONList {
  const m = members(body);
  const names = m.map((x) => x.name).join(',');
  const text = (i: number) => body.toString('utf8', m[i].start, m[i].end);
  let layout: JSONListLayout;
  let meta: string;
  let itemsAt: number;
  if (names === 'kind,apiVersion,metadata,items') {
    const kind = JSON.parse(text(0)) as string;
    if (!kind.endsWith('List')) throw new JSONLayoutError(`a list of kind ${kind}`);
    const objectHead = `"kind":${JSON.stringify(kind.slice(0, -4))},"apiVersion":${text(1)}`;
    layout = typed(body.toString('utf8', 1, m[1].end), objectHead);
    meta = text(2);
    itemsAt = 3;
  } else if (names === 'apiVersion,items,kind,metadata') {
    meta = text(3);
    const rvText = (JSON.parse(meta) as { resourceVersion?: unknown }).resourceVersion;
    const at = typeof rvText === 'string' ? meta.indexOf(`"resourceVersion":"${rvText}"`) : -1;
    if (at < 0) throw new JSONLayoutError('an unstructured list without a resourceVersion');
    const cut = at + '"resourceVersion":"'.length;
    // The watch cache's: an empty continue (a paged list's would be served to every client).
    if (!UNSTRUCTURED_META.has(`${meta.slice(0, cut)}${meta.slice(cut + (rvText as string).length)}`))
      throw new JSONLayoutError(`an unstructured list with metadata ${meta}`);
    layout = unstructured(
      body.toString('utf8', 1, m[0].end),
      body.toString('utf8', m[2].start - '"kind":'.length, m[2].end),
      meta.slice(0, cut),
      meta.slice(cut + (rvText as string).length),
    );
    itemsAt = 1;
  } else throw new JSONLayoutError(`a list with members ${names}`);
  const rv = parseResourceVersion((JSON.parse(meta) as { resourceVersion?: string }).resourceVersion);
  if (rv === null) throw new JSONLayoutError('a list without an orderable resourceVersion');
  const items = elements(body, m[itemsAt].start, m[itemsAt].end);
  if (!layout.unstructured && items.some((i) => i.subarray(0, 8).toString('latin1') === '{"kind":'))
    throw new JSONLayoutError('typed list items with kind and apiVersion');
  if (!layout.body(rv, items).equals(body))
    throw new JSONLayoutError('a list laid out otherwise than the gateway writes one');
  return { layout, rv, items };
}
