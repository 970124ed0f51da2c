import { GatewayConfiguration } from '../schema/gateway-configuration.ts';
import { CRDClusterSpec } from '../schema/cluster.ts';

type Node = Record<string, unknown>;

/** One row per field: path, type, and what it means. */
function rows(n: Node, path: string, out: string[]): void {
  const props = n.properties as Record<string, Node> | undefined;
  const required = new Set((n.required as string[] | undefined) ?? []);
  if (props)
    for (const [name, child] of Object.entries(props)) {
      const p = path ? `${path}.${name}` : name;
      out.push(
        `| \`${p}\` | ${typeOf(child)}${required.has(name) ? ' (required)' : ''} | ${describe(child)} |`,
      );
      rows(child, p, out);
    }
  const items = n.items as Node | undefined;
  if (items) rows(items, `${path}[]`, out);
}

function typeOf(n: Node): string {
  const anyOf = n.anyOf as Node[] | undefined;
  if (anyOf?.every((m) => 'const' in m)) return anyOf.map((m) => `\`${String(m.const)}\``).join(' \\| ');
  if ('const' in n) return `\`${String(n.const)}\``;
  if (n.type === 'array') return `list of ${typeOf(n.items as Node)}`;
  return String(n.type ?? 'any');
}

function describe(n: Node): string {
  const parts: string[] = [];
  if (typeof n.description === 'string') parts.push(n.description);
  const bounds: string[] = [];
  if (n.minimum !== undefined) bounds.push(`≥ ${String(n.minimum)}`);
  if (n.exclusiveMinimum !== undefined) bounds.push(`> ${String(n.exclusiveMinimum)}`);
  if (n.maximum !== undefined) bounds.push(`≤ ${String(n.maximum)}`);
  if (n.minItems !== undefined) bounds.push(`at least ${String(n.minItems)} item(s)`);
  if (bounds.length) parts.push(`(${bounds.join(', ')})`);
  return parts.join(' ').replaceAll('|', '\\|');
}

/** docs/configuration-reference.md, generated from the schema. */
export function configurationReference(): string {
  const file: string[] = [];
  rows(JSON.parse(JSON.stringify(GatewayConfiguration)) as Node, '', file);
  const crd: string[] = [];
  rows(JSON.parse(JSON.stringify(CRDClusterSpec)) as Node, 'spec', crd);
  const head = '| field | type | meaning |\n| --- | --- | --- |';
  return [
    '<!-- Generated from src/config/schema by `npm run generate`; do not edit. -->',
    '',
    '# Configuration reference',
    '',
    'Every field of the two forms kubegate reads. `docs/configuration.md` explains how they fit together.',
    '',
    '## File: `kubegate.io/v1alpha1` `GatewayConfiguration`',
    '',
    head,
    ...file,
    '',
    '## Custom resource: `kubegate.io/v1alpha1` `UpstreamCluster` (cluster-scoped)',
    '',
    'The same fields as a file cluster (`clusters[]`), except that certificates, keys and tokens come',
    'from Secrets (`secretRef`) instead of files, and the name is `metadata.name`.',
    '',
    head,
    ...crd,
    '',
  ].join('\n');
}
