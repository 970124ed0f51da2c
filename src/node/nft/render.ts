import type { NftChain, NftSet, NftTable } from './model.ts';

/** The declaration of a set or map, as it appears inside a `table { … }` block. */
export function renderSetDeclaration(set: NftSet): string {
  const kind = set.value === undefined ? 'set' : 'map';
  const keyWord = set.typeof === true ? 'typeof' : 'type';
  let body = `${keyWord} ${set.key}`;
  // With `typeof`, the value is written the same way (`typeof ip daddr : verdict` or an expression).
  if (set.value !== undefined) body += ` : ${set.value}`;
  const lines = [body];
  if (set.flags !== undefined && set.flags.length > 0) lines.push(`flags ${set.flags.join(', ')}`);
  if (set.timeoutSeconds !== undefined) lines.push(`timeout ${set.timeoutSeconds}s`);
  if (set.comment !== undefined) lines.push(`comment ${JSON.stringify(set.comment)}`);
  return `${kind} ${set.name} { ${lines.join('; ')}; }`;
}

/** One element of a set (`e`) or map (`[k, v]`) as nft writes it inside `{ … }`. */
export function renderElement(element: string | readonly [string, string]): string {
  return typeof element === 'string' ? element : `${element[0]} : ${element[1]}`;
}

/** The chain header (`type nat hook prerouting priority -100; policy accept;`) or nothing. */
export function renderChainHook(chain: NftChain): string {
  const h = chain.hook;
  if (h === undefined) return '';
  return `type ${h.type} hook ${h.hook} priority ${h.priority}; policy ${h.policy ?? 'accept'};`;
}

/**
 * A whole table as one `nft -f` script that replaces it atomically: `add table` (so `delete` never
 * fails on a first start), `delete table`, then the table with its sets, maps and chains. Chains are
 * declared empty first, so rules may jump to a chain declared later.
 */
export function renderTable(table: NftTable): string {
  const id = `${table.family} ${table.name}`;
  const out = [`add table ${id}`, `delete table ${id}`, `table ${id} {`];
  for (const set of table.sets) out.push(`  ${renderSetDeclaration(set)}`);
  for (const chain of table.chains) out.push(`  chain ${chain.name} { ${renderChainHook(chain)} }`);
  out.push('}');
  for (const set of table.sets) {
    if (set.elements.length === 0) continue;
    const elements = (set.elements as readonly (string | readonly [string, string])[]).map(renderElement);
    out.push(`add element ${id} ${set.name} { ${elements.join(', ')} }`);
  }
  for (const chain of table.chains) {
    for (const rule of chain.rules) out.push(`add rule ${id} ${chain.name} ${rule}`);
  }
  return out.join('\n') + '\n';
}

/** Every table of a ruleset, replaced in one transaction. */
export function renderTables(tables: readonly NftTable[]): string {
  return tables.map(renderTable).join('');
}
