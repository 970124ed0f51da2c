import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { checkClusterSpec, resolveCluster, servingPairProblem } from './cluster-spec.ts';
import { hostClashes } from './host-claims.ts';
import { ConfigError, join, type ConfigIssue } from './issues.ts';
import {
  DEFAULT_ADMIN_PORT,
  DEFAULT_CLIENT_LIMITS,
  type ClientLimitsConfig,
  type ClusterConfig,
  type ClusterMaterial,
  type GatewayConfig,
  type SourceFile,
} from './model.ts';
import { GatewayConfiguration } from './schema/gateway-configuration.ts';
import type { FileCluster } from './schema/cluster.ts';
import { SchemaCheck } from './schema-check.ts';
import { parseYAML } from './yaml.ts';

const schema = new SchemaCheck<GatewayConfiguration>(GatewayConfiguration);

/** Every schema and semantic problem of a `GatewayConfiguration` document (no files are read). */
export function checkGatewayConfiguration(doc: unknown): ConfigIssue[] {
  return examine(doc).issues;
}

/** The document as a `GatewayConfiguration` when the schema holds (else null), and every problem. */
function examine(input: unknown): { doc: GatewayConfiguration | null; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const doc = schema.accept(input, issues);
  if (doc === null) return { doc, issues };
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
  issues.push(
    ...hostClashes(
      clusters.map((c, i) => ({ cluster: c.name, hosts: c.hosts, path: `clusters[${i}].hosts` })),
    ),
  );
  return { doc, issues };
}

/** Validates a parsed document and reads the files it names (relative to `baseDir`). */
export async function resolveGatewayConfiguration(input: unknown, baseDir: string): Promise<GatewayConfig> {
  const { doc, issues } = examine(input);
  if (issues.length > 0 || doc === null) throw new ConfigError(issues);
  const path = (p: string) => resolve(baseDir, p);
  const defaults = doc.defaults ?? {};
  const clusters: ClusterConfig[] = [];
  const problems: ConfigIssue[] = [];
  const sourceFiles: SourceFile[] = [];
  (doc.clusters ?? []).forEach((c, i) => {
    const material = readMaterial(c, baseDir, `clusters[${i}]`, problems, sourceFiles);
    if (material) clusters[i] = resolveCluster(c.name, 'file', c, defaults, material);
  });
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
    sourceFiles,
    kubernetes: doc.kubernetes && {
      kubeconfigFile:
        doc.kubernetes.kubeconfigFile === undefined ? undefined : path(doc.kubernetes.kubeconfigFile),
      upstreamClusters: doc.kubernetes.upstreamClusters ?? true,
      kubeGatewayClusters: doc.kubernetes.kubeGatewayClusters ?? false,
      clusterGatewaySecretNamespace: doc.kubernetes.clusterGatewaySecretNamespace,
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
    clientLimits: clientLimits(doc.clientLimits ?? {}),
    workers: doc.workers === 'auto' ? availableParallelism() : (doc.workers ?? 1),
    shutdownDelayMs: (doc.shutdown?.delaySeconds ?? 0) * 1000,
    shutdownDrainMs: (doc.shutdown?.drainSeconds ?? 10) * 1000,
  };
}

function clientLimits(l: NonNullable<GatewayConfiguration['clientLimits']>): ClientLimitsConfig {
  const d = DEFAULT_CLIENT_LIMITS;
  const ms = (s: number | undefined, fallback: number) => (s === undefined ? fallback : s * 1000);
  return {
    maxHeaderBytes: l.maxHeaderBytes ?? d.maxHeaderBytes,
    maxHeaderCount: l.maxHeaderCount ?? d.maxHeaderCount,
    maxRequestBodyBytes: l.maxRequestBodyBytes ?? d.maxRequestBodyBytes,
    maxConcurrentStreams: l.maxConcurrentStreams ?? d.maxConcurrentStreams,
    maxConnectionsPerClientIP: l.maxConnectionsPerClientIP ?? d.maxConnectionsPerClientIP,
    handshakeTimeoutMs: ms(l.handshakeTimeoutSeconds, d.handshakeTimeoutMs),
    headersTimeoutMs: ms(l.headersTimeoutSeconds, d.headersTimeoutMs),
    idleTimeoutMs: ms(l.idleTimeoutSeconds, d.idleTimeoutMs),
    maxLongRunningPerUser: l.maxLongRunningPerUser ?? d.maxLongRunningPerUser,
    streamResets: l.streamResets ?? d.streamResets,
    prematureResets: l.prematureResets ?? d.prematureResets,
  };
}

/**
 * The PEM and token files of a cluster. Read synchronously, as a live reload reads every file: they
 * are a few small local files, while under load each asynchronous read (open, stat, read, close)
 * waits behind four turns of an event loop busy with requests, which made most of a reload's delay.
 * Each file read is appended to `read` with its content.
 */
function readMaterial(
  c: FileCluster,
  baseDir: string,
  at: string,
  issues: ConfigIssue[],
  read: SourceFile[],
): ClusterMaterial | null {
  const load = (file: string | undefined, field: string): string | undefined => {
    if (file === undefined) return undefined;
    const full = resolve(baseDir, file);
    try {
      const content = readFileSync(full, 'utf8');
      read.push({ path: full, content });
      return content;
    } catch (err) {
      issues.push({
        path: join(at, field),
        message: `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
      return undefined;
    }
  };
  const before = issues.length;
  const ca = load(c.upstreamCA.file, 'upstreamCA.file');
  const cert = load(c.credentials.certFile, 'credentials.certFile');
  const key = load(c.credentials.keyFile, 'credentials.keyFile');
  const token = load(c.credentials.tokenFile, 'credentials.tokenFile');
  const clientCA = load(c.clientCA?.file, 'clientCA.file');
  const servingCert = load(c.serving?.certFile, 'serving.certFile');
  const servingKey = load(c.serving?.keyFile, 'serving.keyFile');
  if (servingCert !== undefined && servingKey !== undefined) {
    const bad = servingPairProblem(servingCert, servingKey);
    if (bad) issues.push({ path: join(at, 'serving'), message: bad });
  }
  if (issues.length > before || ca === undefined) return null;
  return { ca, cert, key, token: token?.trim(), clientCA, servingCert, servingKey };
}

/** Reads (unless `text` is given), parses and validates a configuration file; every problem is reported at once. */
export async function loadConfigFile(file: string, text?: string): Promise<GatewayConfig> {
  text ??= await readFile(file, 'utf8');
  try {
    const cfg = await resolveGatewayConfiguration(parseYAML(text, file), dirname(resolve(file)));
    return { ...cfg, textHash: textHash(text) };
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.issues, file);
    throw err;
  }
}

/** SHA-256 (hex) of a configuration's text. */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
