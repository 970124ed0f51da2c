// ReferenceGrant: a cross-namespace reference (a route's backendRef, a listener's certificateRef)
// is allowed when a ReferenceGrant in the referent's namespace lists the referrer in `from` and the
// referent in `to` (an absent `to.name` allows every object of that kind).

import { arr, meta, rec, str } from './read.ts';

export interface GroupKindNamespace {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
}

interface Grant {
  readonly from: readonly GroupKindNamespace[];
  readonly to: readonly { readonly group: string; readonly kind: string; readonly name: string | null }[];
}

/** ReferenceGrants by namespace, read once per translation. */
export class ReferenceGrants {
  readonly #byNamespace = new Map<string, Grant[]>();

  constructor(objects: readonly unknown[]) {
    for (const o of objects) {
      const spec = rec(rec(o).spec);
      const grant: Grant = {
        from: arr(spec.from).map((f) => ({
          group: str(rec(f).group) ?? '',
          kind: str(rec(f).kind) ?? '',
          namespace: str(rec(f).namespace) ?? '',
        })),
        to: arr(spec.to).map((t) => ({
          group: str(rec(t).group) ?? '',
          kind: str(rec(t).kind) ?? '',
          name: str(rec(t).name) || null,
        })),
      };
      const ns = meta(o).namespace;
      const list = this.#byNamespace.get(ns) ?? [];
      list.push(grant);
      this.#byNamespace.set(ns, list);
    }
  }

  /** Is `from` allowed to refer to the object `to` (group/kind/name in `to.namespace`)? */
  allows(from: GroupKindNamespace, to: GroupKindNamespace & { readonly name: string }): boolean {
    if (from.namespace === to.namespace) return true;
    return (this.#byNamespace.get(to.namespace) ?? []).some(
      (g) =>
        g.from.some(
          (f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace,
        ) &&
        g.to.some(
          (t) => t.group === to.group && t.kind === to.kind && (t.name === null || t.name === to.name),
        ),
    );
  }
}
