import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { checkClusterSpec } from '../config/cluster-spec.ts';
import { checkGatewayConfiguration } from '../config/file-config.ts';
import type { ConfigIssue } from '../config/issues.ts';
import type { GatewayConfiguration } from '../config/schema/gateway-configuration.ts';
import { translateKubeGatewayCluster } from '../config/kubegateway/index.ts';
import { CRDClusterSpec } from '../config/schema/cluster.ts';
import { SchemaCheck } from '../config/schema-check.ts';
import { UsageError } from './errors.ts';

const specCheck = new SchemaCheck<CRDClusterSpec>(CRDClusterSpec);

/** What one document of a file amounts to: a summary when valid, else every issue. */
export interface DocumentVerdict {
  kind: string;
  name: string;
  issues: ConfigIssue[];
  summary: string;
}

/** Validates every YAML document of a file (GatewayConfiguration, UpstreamCluster of either group). */
export async function validateFile(file: string): Promise<DocumentVerdict[]> {
  const text = await readFile(file, 'utf8');
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: DocumentVerdict[] = [];
  for (const d of list) {
    if (d.errors.length > 0) {
      out.push({
        kind: '(yaml)',
        name: '',
        summary: '',
        issues: d.errors.map((e) => ({
          path: '(document)',
          message: `not valid YAML: ${e.message.split('\n')[0]}`,
        })),
      });
      continue;
    }
    const doc = d.toJS() as Record<string, unknown> | null;
    if (doc === null) continue;
    out.push(validateDocument(doc));
  }
  return out;
}

function validateDocument(doc: Record<string, unknown>): DocumentVerdict {
  const meta = (doc.metadata ?? {}) as { name?: string };
  const kind = `${String(doc.apiVersion)} ${String(doc.kind)}`;
  const name = meta.name ?? '';
  if (doc.kind === 'GatewayConfiguration') {
    // The files it names (certificates, keys) are read by `serve`, which reports each unreadable one by field.
    const issues = checkGatewayConfiguration(doc);
    const cfg = doc as unknown as GatewayConfiguration;
    const rules = (cfg.clusters ?? []).reduce((n, c) => n + (c.rules?.length ?? 0), 0);
    const summary = issues.length
      ? ''
      : `${cfg.listeners.length} listener(s), ${cfg.clusters?.length ?? 0} cluster(s), ${rules} rule(s)`;
    return { kind, name, issues, summary };
  }
  if (doc.apiVersion === 'kubegate.io/v1alpha1' && doc.kind === 'UpstreamCluster') {
    const issues = specCheck.check(doc.spec, 'spec');
    if (issues.length === 0 && specCheck.is(doc.spec)) issues.push(...checkClusterSpec(doc.spec, {}, 'spec'));
    const spec = doc.spec as { endpoints?: unknown[]; rules?: unknown[] } | undefined;
    return {
      kind,
      name,
      issues,
      summary: `${spec?.endpoints?.length ?? 0} endpoint(s), ${spec?.rules?.length ?? 0} rule(s)`,
    };
  }
  if (doc.apiVersion === 'proxy.kubegateway.io/v1alpha1' && doc.kind === 'UpstreamCluster') {
    const t = translateKubeGatewayCluster(doc);
    const issues: ConfigIssue[] = t.unsupported.map((u) => ({
      path: u.path,
      message: `not supported: ${u.reason}`,
    }));
    issues.push(...specCheck.check(t.spec, 'spec (translated)'));
    return { kind, name, issues, summary: 'translated to kubegate.io/v1alpha1 UpstreamCluster' };
  }
  return {
    kind,
    name,
    summary: '',
    issues: [
      {
        path: 'kind',
        message:
          'expected GatewayConfiguration or UpstreamCluster (kubegate.io/v1alpha1 or proxy.kubegateway.io/v1alpha1)',
      },
    ],
  };
}

/** `kubegate validate -f FILE`: prints every problem with its field path; exit 1 if there is one. */
export async function validate(v: Record<string, unknown>): Promise<number> {
  const file = v.file;
  if (typeof file !== 'string') throw new UsageError('validate: -f FILE is required');
  const verdicts = await validateFile(file);
  let bad = 0;
  for (const d of verdicts) {
    const what = d.name ? `${d.kind} ${d.name}` : d.kind;
    if (d.issues.length === 0) process.stdout.write(`${file}: ${what}: valid (${d.summary})\n`);
    else {
      bad += d.issues.length;
      for (const i of d.issues) process.stdout.write(`${file}: ${what}: ${i.path}: ${i.message}\n`);
    }
  }
  if (verdicts.length === 0) {
    process.stdout.write(`${file}: no YAML documents\n`);
    return 1;
  }
  return bad > 0 ? 1 : 0;
}
