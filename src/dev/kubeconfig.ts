import { readFile, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { CertFiles } from './pki.ts';

/** Writes a kubeconfig with one cluster, one client-certificate user and one context, all named `name`. */
export async function writeKubeconfig(
  path: string,
  name: string,
  server: string,
  caFile: string,
  user: CertFiles,
): Promise<void> {
  const [ca, cert, key] = await Promise.all([caFile, user.cert, user.key].map((f) => readFile(f)));
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
    users: [
      {
        name,
        user: {
          'client-certificate-data': cert.toString('base64'),
          'client-key-data': key.toString('base64'),
        },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  };
  await writeFile(path, stringify(doc), { mode: 0o600 });
}
