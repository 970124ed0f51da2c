import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { checkClusterSpec, resolveCluster } from './cluster-spec.ts';
import { ConfigError, join, type ConfigIssue } from './issues.ts';
import {
  DEFAULT_ADMIN_PORT,
  DEFAULT_CLIENT_LIMITS,
  type ClientLimitsConfig,
  type ClusterConfig,
  type ClusterMaterial,
  type GatewayConfig,
  type ListenerConfig,
  type ListenerMaterial,
  type MaterialKind,
  type SourceFile,
} from './model.ts';
import { GatewayConfiguration } from './schema/gateway-configuration.ts';
import type { FileCluster } from './schema/cluster.ts';
import { SchemaCheck } from './schema-check.ts';
import { checkCABundle, checkKeyPair } from './tls-material.ts';
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
  const listeners: ListenerConfig[] = [];
  doc.listeners.forEach((l, i) => {
    const material = readListenerMaterial(l.tls, baseDir, `listeners[${i}].tls`, problems, sourceFiles);
    if (material)
      listeners.push({
        name: l.name,
        address: l.address ?? '127.0.0.1',
        port: l.port,
        certFile: path(l.tls.certFile),
        keyFile: path(l.tls.keyFile),
        clientCAFile: l.tls.clientCAFile === undefined ? undefined : path(l.tls.clientCAFile),
        material,
        cluster: l.cluster,
      });
  });
  (doc.clusters ?? []).forEach((c, i) => {
    const material = readMaterial(c, baseDir, `clusters[${i}]`, problems, sourceFiles);
    if (material) clusters[i] = resolveCluster(c.name, 'file', c, defaults, material);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    listeners,
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

/** Reads one named file (relative to `baseDir`) into `read`; a failure is an issue at `field`. */
function loader(baseDir: string, at: string, issues: ConfigIssue[], read: SourceFile[]) {
  return (file: string | undefined, field: string, kind: MaterialKind): string | undefined => {
    if (file === undefined) return undefined;
    const full = resolve(baseDir, file);
    try {
      const content = readFileSync(full, 'utf8');
      read.push({ path: full, kind, content });
      return content;
    } catch (err) {
      issues.push({
        path: join(at, field),
        message: `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
      return undefined;
    }
  };
}

/**
 * Checks of what was read, before anything is swapped in: each CA file holds certificates, each
 * key is its certificate's (a pair caught half-rotated is refused; the next change of either file
 * reads both again). Messages name the file; never its content.
 */
function checkMaterial(
  baseDir: string,
  at: string,
  issues: ConfigIssue[],
  pair: {
    cert?: string;
    key?: string;
    certFile?: string;
    keyFile?: string;
    certField: string;
    keyField: string;
  },
  cas: readonly [content: string | undefined, file: string | undefined, field: string][],
): void {
  for (const [content, file, field] of cas) {
    if (content === undefined || file === undefined) continue;
    const problem = checkCABundle(content);
    if (problem) issues.push({ path: join(at, field), message: `${resolve(baseDir, file)}: ${problem}` });
  }
  if (pair.cert === undefined || pair.key === undefined) return;
  const problem = checkKeyPair(pair.cert, pair.key);
  if (!problem) return;
  const [file, field] =
    problem.file === 'cert' ? [pair.certFile!, pair.certField] : [pair.keyFile!, pair.keyField];
  issues.push({ path: join(at, field), message: `${resolve(baseDir, file)}: ${problem.message}` });
}

/** A listener's serving pair and client CA, read and checked like a cluster's material. */
function readListenerMaterial(
  tls: GatewayConfiguration['listeners'][number]['tls'],
  baseDir: string,
  at: string,
  issues: ConfigIssue[],
  read: SourceFile[],
): ListenerMaterial | null {
  const load = loader(baseDir, at, issues, read);
  const before = issues.length;
  const cert = load(tls.certFile, 'certFile', 'listener_cert');
  const key = load(tls.keyFile, 'keyFile', 'listener_key');
  const clientCA = load(tls.clientCAFile, 'clientCAFile', 'listener_client_ca');
  checkMaterial(
    baseDir,
    at,
    issues,
    { cert, key, certFile: tls.certFile, keyFile: tls.keyFile, certField: 'certFile', keyField: 'keyFile' },
    [[clientCA, tls.clientCAFile, 'clientCAFile']],
  );
  if (issues.length > before || cert === undefined || key === undefined) return null;
  return { cert, key, clientCA };
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
  const load = loader(baseDir, at, issues, read);
  const before = issues.length;
  const creds = c.credentials;
  const ca = load(c.upstreamCA.file, 'upstreamCA.file', 'upstream_ca');
  const cert = load(creds.certFile, 'credentials.certFile', 'upstream_client_cert');
  const key = load(creds.keyFile, 'credentials.keyFile', 'upstream_client_key');
  const token = load(creds.tokenFile, 'credentials.tokenFile', 'upstream_token');
  const clientCA = load(c.clientCA?.file, 'clientCA.file', 'cluster_client_ca');
  checkMaterial(
    baseDir,
    at,
    issues,
    {
      cert,
      key,
      certFile: creds.certFile,
      keyFile: creds.keyFile,
      certField: 'credentials.certFile',
      keyField: 'credentials.keyFile',
    },
    [
      [ca, c.upstreamCA.file, 'upstreamCA.file'],
      [clientCA, c.clientCA?.file, 'clientCA.file'],
    ],
  );
  // An empty token is a file caught mid-write (or truncated): sending no credential is never meant.
  if (token !== undefined && token.trim() === '')
    issues.push({
      path: join(at, 'credentials.tokenFile'),
      message: `${resolve(baseDir, creds.tokenFile!)}: the file is empty`,
    });
  if (issues.length > before || ca === undefined) return null;
  return { ca, cert, key, token: token?.trim(), clientCA };
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
