import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KubeClient } from '../kube/client.ts';

const SCRIPT = fileURLToPath(new URL('../../tools/conformance/provide.sh', import.meta.url));
const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** kubegate's own Gateway API policy CRDs (TrafficPolicy), installed beside the Gateway API ones. */
export const KUBEGATE_GATEWAY_API_CRDS = fileURLToPath(
  new URL('../../deploy/gateway-api/crds/', import.meta.url),
);

/** The folder of Gateway API CRDs (experimental channel) taken from the module proxy by tools/conformance. */
export function provideGatewayAPICRDs(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [SCRIPT, 'crds'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out.trim().split('\n').pop()!)
        : reject(new Error(`tools/conformance/provide.sh crds exited with ${code}`)),
    );
  });
}

/** Creates (or replaces) every CustomResourceDefinition in `dir` and waits until each is Established. */
export async function installCRDs(client: KubeClient, dir: string, timeoutMs = 60_000): Promise<string[]> {
  const names: string[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      const crd = doc.toJSON() as {
        kind?: string;
        metadata: { name: string; resourceVersion?: string };
      } | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const res = await client.raw<{ metadata: { resourceVersion: string } }>(
        'GET',
        `${CRDS}/${crd.metadata.name}`,
      );
      if (res.status === 200) {
        crd.metadata.resourceVersion = res.body.metadata.resourceVersion;
        await client.json('PUT', `${CRDS}/${crd.metadata.name}`, crd);
      } else {
        await client.json('POST', CRDS, crd);
      }
      names.push(crd.metadata.name);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await client.json<{ status?: { conditions?: { type: string; status: string }[] } }>(
        'GET',
        `${CRDS}/${name}`,
      );
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established within ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return names;
}
