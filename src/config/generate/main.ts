import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { upstreamClusterCRDYAML } from './crd.ts';
import { configurationReference } from './reference.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Files generated from the configuration schema, relative to the repository root. */
export function generatedFiles(): Record<string, string> {
  return {
    'deploy/crds/kubegate.io_upstreamclusters.yaml': upstreamClusterCRDYAML(),
    'docs/configuration-reference.md': configurationReference(),
  };
}

/** Files whose committed content differs from what the schema generates. */
export async function staleFiles(): Promise<string[]> {
  const stale: string[] = [];
  for (const [path, text] of Object.entries(generatedFiles())) {
    const have = await readFile(root + path, 'utf8').catch(() => '');
    if (have !== text) stale.push(path);
  }
  return stale;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(root + 'deploy/crds', { recursive: true });
  for (const [path, text] of Object.entries(generatedFiles())) await writeFile(root + path, text);
  process.stdout.write(`generated ${Object.keys(generatedFiles()).join(', ')}\n`);
}
