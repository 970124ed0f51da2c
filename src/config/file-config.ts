import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { checkClusterSpec, resolveCluster } from './cluster-spec.ts';
import { hostClashes } from './host-claims.ts';
import { ConfigError, type ConfigIssue } from './issues.ts';
import {
  DEFAULT_ADMIN_PORT,
  DEFAULT_CLIENT_LIMITS,
  type ClientLimitsConfig,
  type ClusterConfig,
  type GatewayConfig,
  type ListenerConfig,
  type SourceFile,
} from './model.ts';
import { GatewayConfiguration } from './schema/gateway-configuration.ts';
import { SchemaCheck } from './schema-check.ts';
import { readClusterMaterial, readListenerMaterial } from './material-files.ts';
import { readRequestHeaderSettings } from './extension-apiserver-authentication.ts';
import { parseYAML } from './yaml.ts';
import { checkExchangeRules, type ExchangeRule } from '../clustergateway/identity-exchange.ts';
import { DEFAULT_REWATCH } from '../upstream/rewatch-pacer.ts';

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
    const material = readClusterMaterial(c, baseDir, `clusters[${i}]`, problems, sourceFiles);
    if (material) clusters[i] = resolveCluster(c.name, 'file', c, defaults, material);
  });
  for (const [i, c] of (doc.clusters ?? []).entries()) {
    if (c.frontProxy?.fromExtensionAPIServerAuthentication !== true || clusters[i] === undefined) continue;
    const m = clusters[i].material;
    try {
      const requestHeader = await readRequestHeaderSettings(c.endpoints, m);
      const material = { ...m, requestHeader, frontProxyCA: requestHeader.ca };
      clusters[i] = resolveCluster(c.name, 'file', c, defaults, material);
    } catch (err) {
      problems.push({
        path: `clusters[${i}].frontProxy.fromExtensionAPIServerAuthentication`,
        message: (err as Error).message,
      });
    }
  }
  const exchangeFile = doc.kubernetes?.clusterGatewayProxyConfigurationFile;
  const clusterGatewayExchange =
    exchangeFile === undefined ? [] : readExchangeRules(path(exchangeFile), problems, sourceFiles);
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
      clusterGatewayExchange,
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
    workerYoungGenerationMb: doc.workerYoungGenerationMb ?? 16,
    rewatch: {
      maxPerSecond: doc.rewatch?.maxPerSecond ?? DEFAULT_REWATCH.maxPerSecond,
      windowMs:
        doc.rewatch?.windowSeconds === undefined
          ? DEFAULT_REWATCH.windowMs
          : doc.rewatch.windowSeconds * 1000,
    },
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
    prematureResets:
      l.prematureResets === undefined
        ? d.prematureResets
        : {
            burst: l.prematureResets.burst,
            ratePerSecond: l.prematureResets.ratePerSecond,
            penaltyMs: ms(l.prematureResets.penaltySeconds, d.prematureResets.penaltyMs),
          },
  };
}

/** The rules of a ClusterGatewayProxyConfiguration file, or its problems (with the file named). */
function readExchangeRules(
  file: string,
  problems: ConfigIssue[],
  read: SourceFile[],
): readonly ExchangeRule[] {
  const at = 'kubernetes.clusterGatewayProxyConfigurationFile';
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push({ path: at, message: `cannot read ${file}: ${(err as Error).message}` });
    return [];
  }
  read.push({ path: file, kind: 'clustergateway_proxy_config', content });
  try {
    const r = checkExchangeRules(parseYAML(content, file), at);
    if ('rules' in r) return r.rules;
    for (const i of r.issues) problems.push({ path: i.path, message: `${i.message} (in ${file})` });
  } catch (err) {
    problems.push({ path: at, message: `${file}: ${(err as Error).message}` });
  }
  return [];
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
