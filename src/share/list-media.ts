// Which media type kube-apiserver answers a LIST in, as far as a watch cache can answer it too.
// The apiserver (`negotiation.NegotiateOutputMediaType`) takes the Accept clauses in order, sorted
// by q and then by specificity, and the first one its serializers and the endpoint accept wins;
// `as=`/`v=`/`g=` ask for a conversion (Table, PartialObjectMetadataList) the endpoint may refuse,
// and then the next clause is tried. The gateway serves only the cases whose answer it rebuilds
// exactly and forwards everything else as it is.

/** What a cached list is answered with: the objects, or their metadata (PartialObjectMetadataList). */
export type ListForm = 'objects' | 'metadata';

/** How a LIST is to be answered from a cache: the `Accept` its cache uses and what is made from it. */
export interface ListMedia {
  readonly accept: string;
  readonly form: ListForm;
  /** The metadata list in protobuf (else JSON); for `form: 'metadata'` only. */
  readonly protobuf: boolean;
}

const JSON_TYPE = 'application/json';
const PROTOBUF = 'application/vnd.kubernetes.protobuf';
/** The `Accept` of the protobuf cache a protobuf metadata list is made from (client-go's protobuf clients send it). */
const PROTOBUF_CACHE = `${PROTOBUF}, ${JSON_TYPE}`;
const JSON_RANGES = new Set([JSON_TYPE, 'application/*', '*/*']);

interface Clause {
  readonly type: string;
  readonly params: Map<string, string>;
}

function clauses(accept: string): Clause[] {
  return accept.split(',').map((part) => {
    const [type, ...rest] = part.split(';');
    const params = new Map<string, string>();
    for (const p of rest) {
      const eq = p.indexOf('=');
      params.set((eq < 0 ? p : p.slice(0, eq)).trim(), eq < 0 ? '' : p.slice(eq + 1).trim());
    }
    return { type: type.trim(), params };
  });
}

/** Exactly `as=PartialObjectMetadataList;v=v1;g=meta.k8s.io`, in any order. */
function asMetadataList(params: Map<string, string>): boolean {
  return (
    params.size === 3 &&
    params.get('as') === 'PartialObjectMetadataList' &&
    params.get('v') === 'v1' &&
    params.get('g') === 'meta.k8s.io'
  );
}

/**
 * The media of a LIST a cache can answer, or why not: 'table' for a Table (kube-apiserver prints
 * built-in types with per-resource printers and custom resources with additionalPrinterColumns
 * JSONPaths, neither of which the gateway reproduces byte for byte), 'encoding' for anything else
 * it does not rebuild (CBOR, YAML, `pretty`, q-values, v1beta1 conversions, an unknown `as`).
 *
 * Served: JSON (`application/json`, with `*\/*` beside it: what client-go's JSON clients and
 * kubectl send); protobuf first and JSON ranges after it (client-go's protobuf clients; custom
 * resources have no protobuf and are answered in JSON); and PartialObjectMetadataList v1 in JSON
 * or protobuf as the first clause (metadata informers), whatever follows it, since the first
 * clause the apiserver accepts wins and it always accepts that one on a list.
 */
export function listMedia(accept: string | undefined): ListMedia | 'table' | 'encoding' {
  if (accept === undefined || accept === '') return { accept: JSON_TYPE, form: 'objects', protobuf: false };
  const cs = clauses(accept);
  if (cs.some((c) => c.params.get('as') === 'Table')) return 'table';
  // q-values reorder the clauses, and past 12 Go's sort is no longer stable: the gateway does
  // not sort them as the apiserver would.
  if (cs.length > 12 || cs.some((c) => c.params.has('q'))) return 'encoding';
  const first = cs[0];
  if (asMetadataList(first.params)) {
    if (first.type === JSON_TYPE) return { accept: JSON_TYPE, form: 'metadata', protobuf: false };
    if (first.type === PROTOBUF) return { accept: PROTOBUF_CACHE, form: 'metadata', protobuf: true };
    return 'encoding';
  }
  if (cs.some((c) => c.params.size > 0)) return 'encoding';
  // Media types are matched as they are written (`Application/JSON` is not the apiserver's).
  const ranges = cs.map((c) => c.type);
  const protobuf = ranges[0] === PROTOBUF;
  const rest = protobuf ? ranges.slice(1) : ranges;
  if (!rest.every((r) => JSON_RANGES.has(r))) return 'encoding';
  if (protobuf) return { accept: ranges.join(', '), form: 'objects', protobuf: false };
  // `*/*` alone lets the apiserver choose: JSON, but kept to the explicit case.
  return rest.includes(JSON_TYPE) ? { accept: JSON_TYPE, form: 'objects', protobuf: false } : 'encoding';
}
