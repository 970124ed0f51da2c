import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { KubeTarget } from './client.ts';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type Named<T> = { name: string } & T;
interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: Named<{ context: { cluster: string; user: string } }>[];
  clusters?: Named<{ cluster: Record<string, string | undefined> }>[];
  users?: Named<{ user: Record<string, string | undefined> }>[];
}

/** The API server and credentials of a kubeconfig's current context, or of the in-cluster service account. */
export async function loadKubeTarget(kubeconfigFile?: string): Promise<KubeTarget> {
  if (kubeconfigFile === undefined) return inCluster();
  const doc = parse(await readFile(kubeconfigFile, 'utf8')) as KubeconfigDoc;
  const base = dirname(resolve(kubeconfigFile));
  const ctxName = doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`${kubeconfigFile}: no current context`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`${kubeconfigFile}: cluster "${ctx.cluster}" has no server`);
  const pem = async (data: string | undefined, file: string | undefined) =>
    data !== undefined
      ? Buffer.from(data, 'base64').toString('utf8')
      : file !== undefined
        ? readFile(resolve(base, file), 'utf8')
        : undefined;
  const ca = await pem(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca === undefined || cluster['insecure-skip-tls-verify'])
    throw new Error(
      `${kubeconfigFile}: cluster "${ctx.cluster}" needs a certificate authority (TLS is never skipped)`,
    );
  const tokenFile = user.tokenFile ? resolve(base, user.tokenFile) : undefined;
  const token = user.token ?? (tokenFile ? (await readFile(tokenFile, 'utf8')).trim() : undefined);
  return {
    server: cluster.server,
    ca,
    cert: await pem(user['client-certificate-data'], user['client-certificate']),
    key: await pem(user['client-key-data'], user['client-key']),
    token,
    tokenFile: user.token === undefined ? tokenFile : undefined,
  };
}

async function inCluster(): Promise<KubeTarget> {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host)
    throw new Error('not running in a cluster (KUBERNETES_SERVICE_HOST unset) and no kubeconfigFile given');
  const [ca, token] = await Promise.all([
    readFile(`${SA_DIR}/ca.crt`, 'utf8'),
    readFile(`${SA_DIR}/token`, 'utf8'),
  ]);
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca,
    token: token.trim(),
    tokenFile: `${SA_DIR}/token`,
  };
}
