import type { NftChain, NftSet, NftTable } from './model.ts';
import { renderChainHook, renderElement, renderSetDeclaration, renderTable } from './render.ts';

/** The `nft -f` lines that turn `last` into `next`, and how many element operations they hold. */
export interface TableChange {
  readonly lines: readonly string[];
  /** Elements added plus elements deleted. */
  readonly elementOps: number;
  /** Chains flushed and rewritten (changed, new or removed). */
  readonly chainOps: number;
  /** The table is replaced whole (new table, or a declaration changed). */
  readonly replaced: boolean;
}

/** The family-qualified name nft commands take (`ip kubegate-proxy`). */
export function tableId(t: { family: string; name: string }): string {
  return `${t.family} ${t.name}`;
}

/**
 * Sets whose elements the kernel owns (filled from the packet path, `dynamic`): the applier declares
 * them and never diffs their elements, so a sync does not erase what traffic wrote there.
 */
export function isKernelOwned(set: NftSet): boolean {
  return set.flags?.includes('dynamic') === true;
}

type Element = string | readonly [string, string];

function sameElement(a: Element, b: Element): boolean {
  return typeof a === 'string' ? a === b : typeof b !== 'string' && a[0] === b[0] && a[1] === b[1];
}

function elementKey(e: Element): string {
  return typeof e === 'string' ? e : e[0];
}

/**
 * The element keys to delete and the element texts to add to turn `before` into `now`. Both lists
 * come from translations that emit elements in a stable order, so a sync that changed a few Services
 * leaves a long equal head and tail: only the window between them is compared by key (a key in the
 * window cannot be in the head or tail, keys being unique in a set).
 */
function elementChanges(
  before: readonly Element[],
  now: readonly Element[],
): { dels: string[]; adds: string[] } {
  let head = 0;
  const shorter = Math.min(before.length, now.length);
  while (head < shorter && sameElement(before[head]!, now[head]!)) head++;
  let tail = 0;
  while (tail < shorter - head && sameElement(before[before.length - 1 - tail]!, now[now.length - 1 - tail]!))
    tail++;
  const was = new Map<string, Element>();
  for (let i = head; i < before.length - tail; i++) was.set(elementKey(before[i]!), before[i]!);
  const is = new Map<string, Element>();
  for (let i = head; i < now.length - tail; i++) is.set(elementKey(now[i]!), now[i]!);
  const dels: string[] = [];
  const adds: string[] = [];
  for (const [k, e] of was) {
    const n = is.get(k);
    if (n === undefined || !sameElement(e, n)) dels.push(k);
  }
  for (const [k, e] of is) {
    const w = was.get(k);
    if (w === undefined || !sameElement(w, e)) adds.push(renderElement(e));
  }
  return { dels, adds };
}

function sameRules(a: NftChain, b: NftChain): boolean {
  if (a.rules.length !== b.rules.length) return false;
  for (let i = 0; i < a.rules.length; i++) if (a.rules[i] !== b.rules[i]) return false;
  return true;
}

/** `map ip t name { … }` / `set ip t name { … }` as a command after `add`. */
function declare(id: string, set: NftSet): string {
  const decl = renderSetDeclaration(set);
  const sp = decl.indexOf(' ');
  return `add ${decl.slice(0, sp)} ${id}${decl.slice(sp)}`;
}

function kind(set: NftSet): 'set' | 'map' {
  return set.value === undefined ? 'set' : 'map';
}

/**
 * The smallest transaction that turns table `last` (what this applier wrote) into `next`: element
 * adds and deletes, `flush chain` plus the rules of chains whose rules changed, new and removed sets
 * and chains. A changed set declaration or chain hook cannot be altered in place: the table is then
 * replaced whole (still one atomic transaction). Order inside the transaction: declare new objects,
 * delete elements, rewrite chains, add elements, then delete removed sets (they may point at
 * removed chains) and removed chains (no rule or element references them any more).
 */
export function diffTable(last: NftTable | undefined, next: NftTable): TableChange {
  const id = tableId(next);
  if (last === undefined) return replaceWhole(next);
  const declare1: string[] = [];
  const delElems: string[] = [];
  const rewrite: string[] = [];
  const addElems: string[] = [];
  const removeSets: string[] = [];
  const removeChains: string[] = [];
  let elementOps = 0;
  let chainOps = 0;

  const lastSets = new Map(last.sets.map((s) => [s.name, s]));
  for (const set of next.sets) {
    const was = lastSets.get(set.name);
    lastSets.delete(set.name);
    if (was !== undefined && renderSetDeclaration(was) !== renderSetDeclaration(set))
      return replaceWhole(next);
    if (was === undefined) declare1.push(declare(id, set));
    if (isKernelOwned(set) || was?.elements === set.elements) continue;
    const { dels, adds } = elementChanges(
      (was?.elements ?? []) as readonly Element[],
      set.elements as readonly Element[],
    );
    if (dels.length > 0) delElems.push(`delete element ${id} ${set.name} { ${dels.join(', ')} }`);
    if (adds.length > 0) addElems.push(`add element ${id} ${set.name} { ${adds.join(', ')} }`);
    elementOps += dels.length + adds.length;
  }
  for (const gone of lastSets.values()) removeSets.push(`delete ${kind(gone)} ${id} ${gone.name}`);

  const lastChains = new Map(last.chains.map((c) => [c.name, c]));
  for (const chain of next.chains) {
    const was = lastChains.get(chain.name);
    lastChains.delete(chain.name);
    if (was !== undefined && renderChainHook(was) !== renderChainHook(chain)) return replaceWhole(next);
    if (was === undefined) declare1.push(`add chain ${id} ${chain.name} { ${renderChainHook(chain)} }`);
    else if (sameRules(was, chain)) continue;
    else rewrite.push(`flush chain ${id} ${chain.name}`);
    for (const rule of chain.rules) rewrite.push(`add rule ${id} ${chain.name} ${rule}`);
    chainOps++;
  }
  for (const gone of lastChains.values()) {
    rewrite.push(`flush chain ${id} ${gone.name}`);
    removeChains.push(`delete chain ${id} ${gone.name}`);
    chainOps++;
  }
  return {
    lines: [...declare1, ...delElems, ...rewrite, ...addElems, ...removeSets, ...removeChains],
    elementOps,
    chainOps,
    replaced: false,
  };
}

function replaceWhole(next: NftTable): TableChange {
  let elementOps = 0;
  for (const s of next.sets) if (!isKernelOwned(s)) elementOps += s.elements.length;
  return {
    lines: renderTable(next).trimEnd().split('\n'),
    elementOps,
    chainOps: next.chains.length,
    replaced: true,
  };
}

/** The whole transaction from `last` to `next` (tables by id); empty when nothing changed. */
export function diffRuleset(
  last: ReadonlyMap<string, NftTable>,
  next: readonly NftTable[],
): { script: string; elementOps: number; chainOps: number; tablesReplaced: number } {
  const lines: string[] = [];
  let elementOps = 0;
  let chainOps = 0;
  let tablesReplaced = 0;
  const seen = new Set<string>();
  for (const t of next) {
    seen.add(tableId(t));
    const c = diffTable(last.get(tableId(t)), t);
    lines.push(...c.lines);
    elementOps += c.elementOps;
    chainOps += c.chainOps;
    if (c.replaced) tablesReplaced++;
  }
  for (const id of last.keys()) if (!seen.has(id)) lines.push(`delete table ${id}`);
  return { script: lines.length === 0 ? '' : lines.join('\n') + '\n', elementOps, chainOps, tablesReplaced };
}
