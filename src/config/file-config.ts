import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { checkClusterSpec, resolveCluster } from './cluster-spec.ts';
import { ConfigError, join, type ConfigIssue } from './issues.ts';
import { DEFAULT_ADMIN_PORT, type ClusterConfig, type ClusterMaterial, type GatewayConfig } from './model.ts';
import { GatewayConfiguration } from './schema/gateway-configuration.ts';
import type { FileCluster } from './schema/cluster.ts';
import { SchemaCheck } from './schema-check.ts';

const schema = new SchemaCheck<GatewayConfiguration>(GatewayConfiguration);

/** Parses YAML text into one document; a syntax error is a `ConfigError` with the line. */
export function parseYAML(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0)
    throw new ConfigError(
      doc.errors.map((e) => ({ path: '(document)', message: `not valid YAML: ${e.message.split('\n')[0]}` })),
      source,
    );
  return doc.toJS() as unknown;
}

/** Every schema and semantic problem of a `GatewayConfiguration` document (no files are read). */
export function checkGatewayConfiguration(doc: unknown): ConfigIssue[] {
  const issues = schema.check(doc);
  if (issues.length > 0 || !schema.is(doc)) return issues;
  const dup = (list: readonly { name: string }[], field: string) => {
    const seen = new Set<string>();
    list.forEach((x, i) => {
      if (seen.has(x.name))
        issues.push({ path: `${field}[${i}].name`, message: `duplicate name "${x.name}"` });
      seen.add(x.name);
    });
  };
  const clusters = doc.clusters ?? [];
  dup(doc.listeners, 'listeners');
  dup(clusters, 'clusters');
  const ports = new Map<string, number>();
  doc.listeners.forEach((l, i) => {
    const key = `${l.address ?? '127.0.0.1'}:${l.port}`;
    if (l.port !== 0 && ports.has(key))
      issues.push({ path: `listeners[${i}].port`, message: `${key} is also listeners[${ports.get(key)}]` });
    ports.set(key, i);
    if (!doc.kubernetes && !clusters.some((c) => c.name === l.cluster))
      issues.push({
        path: `listeners[${i}].cluster`,
        message: `no cluster named "${l.cluster}" in clusters (and no kubernetes source is configured)`,
      });
  });
  clusters.forEach((c, i) => issues.push(...checkClusterSpec(c, doc.defaults ?? {}, `clusters[${i}]`)));
  return issues;
}

/** Validates a parsed document and reads the files it names (relative to `baseDir`). */
export async function resolveGatewayConfiguration(doc: unknown, baseDir: string): Promise<GatewayConfig> {
  const issues = checkGatewayConfiguration(doc);
  if (issues.length > 0 || !schema.is(doc)) throw new ConfigError(issues);
  const path = (p: string) => resolve(baseDir, p);
  const defaults = doc.defaults ?? {};
  const clusters: ClusterConfig[] = [];
  const problems: ConfigIssue[] = [];
  await Promise.all(
    (doc.clusters ?? []).map(async (c, i) => {
      const material = await readMaterial(c, baseDir, `clusters[${i}]`, problems);
      if (material) clusters[i] = resolveCluster(c.name, 'file', c, defaults, material);
    }),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    listeners: doc.listeners.map((l) => ({
      name: l.name,
      address: l.address ?? '127.0.0.1',
      port: l.port,
      certFile: path(l.tls.certFile),
      keyFile: path(l.tls.keyFile),
      clientCAFile: l.tls.clientCAFile === undefined ? undefined : path(l.tls.clientCAFile),
      cluster: l.cluster,
    })),
    clusters,
    defaults,
    kubernetes: doc.kubernetes && {
      kubeconfigFile:
        doc.kubernetes.kubeconfigFile === undefined ? undefined : path(doc.kubernetes.kubeconfigFile),
      upstreamClusters: doc.kubernetes.upstreamClusters ?? true,
      kubeGatewayClusters: doc.kubernetes.kubeGatewayClusters ?? false,
    },
    accessLog: { path: doc.accessLog?.path === undefined ? undefined : path(doc.accessLog.path) },
    admin:
      doc.admin?.enabled === false
        ? null
        : { address: doc.admin?.address ?? '127.0.0.1', port: doc.admin?.port ?? DEFAULT_ADMIN_PORT },
    metrics: {
      perUser: {
        enabled: doc.metrics?.perUser?.enabled ?? false,
        maxUsers: doc.metrics?.perUser?.maxUsers ?? 100,
      },
    },
    workers: doc.workers === 'auto' ? availableParallelism() : (doc.workers ?? 1),
    shutdownDelayMs: (doc.shutdown?.delaySeconds ?? 0) * 1000,
    shutdownDrainMs: (doc.shutdown?.drainSeconds ?? 10) * 1000,
  };
}

async function readMaterial(
  c: FileCluster,
  baseDir: string,
  at: string,
  issues: ConfigIssue[],
): Promise<ClusterMaterial | null> {
  const read = async (file: string | undefined, field: string): Promise<string | undefined> => {
    if (file === undefined) return undefined;
    const full = resolve(baseDir, file);
    try {
      return await readFile(full, 'utf8');
    } catch (err) {
      issues.push({
        path: join(at, field),
        message: `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
      return undefined;
    }
  };
  const before = issues.length;
  const [ca, cert, key, token, clientCA] = await Promise.all([
    read(c.upstreamCA.file, 'upstreamCA.file'),
    read(c.credentials.certFile, 'credentials.certFile'),
    read(c.credentials.keyFile, 'credentials.keyFile'),
    read(c.credentials.tokenFile, 'credentials.tokenFile'),
    read(c.clientCA?.file, 'clientCA.file'),
  ]);
  if (issues.length > before || ca === undefined) return null;
  return { ca, cert, key, token: token?.trim(), clientCA };
}

/** Reads (unless `text` is given), parses and validates a configuration file; every problem is reported at once. */
export async function loadConfigFile(file: string, text?: string): Promise<GatewayConfig> {
  text ??= await readFile(file, 'utf8');
  try {
    return await resolveGatewayConfiguration(parseYAML(text, file), dirname(resolve(file)));
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.issues, file);
    throw err;
  }
}
