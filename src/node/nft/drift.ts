import { isKernelOwned } from './diff.ts';
import type { NftTable } from './model.ts';

/** What the drift check compares: chain rule counts and set element counts, by name. */
export interface TableShape {
  readonly chains: ReadonlyMap<string, number>;
  /**
   * Element counts; -1 (not compared) for kernel-owned (dynamic) sets and interval sets (the kernel
   * may store one CIDR as a range, or adjacent ones as one).
   */
  readonly sets: ReadonlyMap<string, number>;
}

/** The shape the applier expects of a table it wrote. */
export function expectedShape(t: NftTable): TableShape {
  return {
    chains: new Map(t.chains.map((c) => [c.name, c.rules.length])),
    sets: new Map(
      t.sets.map((s) => [
        s.name,
        isKernelOwned(s) || s.flags?.includes('interval') === true ? -1 : s.elements.length,
      ]),
    ),
  };
}

interface NftJsonObject {
  chain?: { name: string };
  rule?: { chain: string };
  set?: { name: string; elem?: unknown[] };
  map?: { name: string; elem?: unknown[] };
}

/** The shape of a table from `nft -j list table FAMILY NAME`. */
export function shapeFromJson(json: string): TableShape {
  const doc = JSON.parse(json) as { nftables?: NftJsonObject[] };
  const chains = new Map<string, number>();
  const sets = new Map<string, number>();
  for (const o of doc.nftables ?? []) {
    if (o.chain) chains.set(o.chain.name, chains.get(o.chain.name) ?? 0);
    else if (o.rule) chains.set(o.rule.chain, (chains.get(o.rule.chain) ?? 0) + 1);
    else if (o.set) sets.set(o.set.name, o.set.elem?.length ?? 0);
    else if (o.map) sets.set(o.map.name, o.map.elem?.length ?? 0);
  }
  return { chains, sets };
}

/**
 * The differences between what the kernel has and what the applier wrote, as readable lines (empty:
 * no drift). Rule text is not compared (nft prints rules in its own normal form); a rule added,
 * removed or a chain flushed by someone else, or an element added or deleted, is seen.
 */
export function shapeDrift(expected: TableShape, actual: TableShape): string[] {
  const out: string[] = [];
  for (const [name, n] of expected.chains) {
    const got = actual.chains.get(name);
    if (got !== n) out.push(`chain ${name}: ${got ?? 'missing'} rules, expected ${n}`);
  }
  for (const name of actual.chains.keys())
    if (!expected.chains.has(name)) out.push(`chain ${name}: not expected`);
  for (const [name, n] of expected.sets) {
    const got = actual.sets.get(name);
    if (got === undefined) out.push(`set ${name}: missing`);
    else if (n >= 0 && got !== n) out.push(`set ${name}: ${got} elements, expected ${n}`);
  }
  for (const name of actual.sets.keys()) if (!expected.sets.has(name)) out.push(`set ${name}: not expected`);
  return out;
}
