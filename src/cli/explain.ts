import { readFile } from 'node:fs/promises';
import { checkClusterSpec } from '../config/cluster-spec.ts';
import { checkGatewayConfiguration } from '../config/file-config.ts';
import { ConfigError } from '../config/issues.ts';
import type { CRDClusterSpec, FileCluster } from '../config/schema/cluster.ts';
import type { GatewayConfiguration } from '../config/schema/gateway-configuration.ts';
import { CRDClusterSpec as SpecSchema } from '../config/schema/cluster.ts';
import { SchemaCheck } from '../config/schema-check.ts';
import { parseYAML } from '../config/yaml.ts';
import { parseRequestInfo } from '../request/request-info.ts';
import type { Identity } from '../request/types.ts';
import { compileRules, formatExplanation } from '../routing/index.ts';
import { UsageError } from './errors.ts';

const specCheck = new SchemaCheck<CRDClusterSpec>(SpecSchema);

/** The rules of the cluster to explain against, from a GatewayConfiguration or an UpstreamCluster. */
async function clusterOf(
  file: string,
  name: string | undefined,
): Promise<{
  name: string;
  spec: Omit<FileCluster, 'name'> | CRDClusterSpec;
  defaults: GatewayConfiguration['defaults'];
}> {
  const doc = parseYAML(await readFile(file, 'utf8'), file) as Record<string, unknown> | null;
  if (doc?.kind === 'UpstreamCluster' && doc.apiVersion === 'kubegate.io/v1alpha1') {
    const issues = specCheck.check(doc.spec, 'spec');
    if (issues.length === 0 && specCheck.is(doc.spec)) issues.push(...checkClusterSpec(doc.spec, {}, 'spec'));
    if (issues.length > 0 || !specCheck.is(doc.spec)) throw new ConfigError(issues, file);
    return {
      name: String((doc.metadata as { name?: string } | undefined)?.name ?? ''),
      spec: doc.spec,
      defaults: {},
    };
  }
  const issues = checkGatewayConfiguration(doc);
  if (issues.length > 0) throw new ConfigError(issues, file);
  const cfg = doc as unknown as GatewayConfiguration;
  const clusters = cfg.clusters ?? [];
  const want = name ?? cfg.listeners[0]?.cluster;
  const c = clusters.find((x) => x.name === want);
  if (!c)
    throw new UsageError(
      `explain: no cluster "${want}" in ${file} (clusters: ${clusters.map((x) => x.name).join(', ') || 'none'})`,
    );
  return { name: c.name, spec: c, defaults: cfg.defaults };
}

/** `kubegate explain -f FILE [--cluster C] --user U [--group G]... [--client-ip IP] METHOD PATH`. */
export async function explain(v: Record<string, unknown>, positionals: string[]): Promise<number> {
  const file = v.file;
  if (typeof file !== 'string') throw new UsageError('explain: -f FILE is required');
  if (typeof v.user !== 'string') throw new UsageError('explain: --user USER is required');
  if (positionals.length !== 2)
    throw new UsageError('explain: give METHOD and PATH, e.g. GET /api/v1/namespaces/a/pods');
  const [method, path] = positionals;
  if (!/^[A-Za-z]+$/.test(method)) throw new UsageError(`explain: "${method}" is not an HTTP method`);
  if (!path.startsWith('/')) throw new UsageError(`explain: PATH must start with "/", got "${path}"`);
  const { name, spec, defaults } = await clusterOf(
    file,
    typeof v.cluster === 'string' ? v.cluster : undefined,
  );
  const groups = (v.group as string[] | undefined) ?? [];
  const identity: Identity = { user: v.user, uid: '', groups, extra: {} };
  const clientIP = typeof v['client-ip'] === 'string' ? v['client-ip'] : '127.0.0.1';
  const info = parseRequestInfo(method.toUpperCase(), path);
  const table = compileRules(spec.rules ?? [], spec.defaultRule ?? defaults?.defaultRule ?? {});
  process.stdout.write(
    `cluster: ${name}\n${formatExplanation(info, identity, clientIP, table.explain(info, identity, clientIP))}`,
  );
  return 0;
}
