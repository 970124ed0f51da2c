import { isIP } from 'node:net';
import type { CRDClusterSpec } from '../schema/index.ts';
import { translateCredentials } from './credentials.ts';
import { translateServers } from './endpoints.ts';
import { KubeGatewayTranslationError } from './errors.ts';
import { FEATURE_GATES_ANNOTATION, translateFeatureGates } from './feature-gates.ts';
import { translateFlowControl } from './flow-control.ts';
import { translateHosts } from './hosts.ts';
import { toLabel } from './names.ts';
import { checkLogMode, translatePolicies } from './policies.ts';
import { child, isObj, objectAt, reportUnknownKeys, stringAt } from './read.ts';
import { TranslationReport } from './report.ts';
import type { KubeGatewayTranslation, TranslateOptions } from './types.ts';

const API_VERSION = 'proxy.kubegateway.io/v1alpha1';
const SPEC = ['servers', 'clientConfig', 'secureServing', 'flowControl', 'dispatchPolicies', 'logging'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Translates a KubeGateway `proxy.kubegateway.io/v1alpha1` UpstreamCluster into the spec of a
 * `kubegate.io/v1alpha1` UpstreamCluster. Pure: reads nothing, writes nothing. Every field of the
 * input is either carried over or listed in `unsupported` with its path; inline certificates, keys
 * and tokens come back decoded in `materials`, and the spec refers to Secrets holding them.
 * Throws KubeGatewayTranslationError only when the input is not such an object at all.
 */
export function translateKubeGatewayCluster(
  obj: unknown,
  options: TranslateOptions = {},
): KubeGatewayTranslation {
  if (!isObj(obj))
    throw new KubeGatewayTranslationError(
      'KGW_NOT_AN_OBJECT',
      '(object)',
      `expected a ${API_VERSION} UpstreamCluster object`,
    );
  const secretNamespace = options.secretNamespace ?? 'kubegate-system';
  if (!DNS_LABEL.test(secretNamespace) || secretNamespace.length > 63)
    throw new KubeGatewayTranslationError(
      'KGW_BAD_OPTION',
      'secretNamespace',
      `"${secretNamespace}" is not a namespace name`,
    );
  if (obj.apiVersion !== undefined && obj.apiVersion !== API_VERSION)
    throw new KubeGatewayTranslationError(
      'KGW_WRONG_KIND',
      'apiVersion',
      `expected ${API_VERSION}, found ${JSON.stringify(obj.apiVersion)}`,
    );
  if (obj.kind !== undefined && obj.kind !== 'UpstreamCluster')
    throw new KubeGatewayTranslationError(
      'KGW_WRONG_KIND',
      'kind',
      `expected UpstreamCluster, found ${JSON.stringify(obj.kind)}`,
    );

  const report = new TranslationReport();
  // status is empty in v1alpha1; metadata besides the name and the feature gates is bookkeeping.
  reportUnknownKeys(obj, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], '', report);
  const metadata = isObj(obj.metadata) ? obj.metadata : {};
  const hostName = typeof metadata.name === 'string' ? metadata.name : '';
  const name = toLabel(hostName);
  if (name === '') throw new KubeGatewayTranslationError('KGW_NO_NAME', 'metadata.name', 'no usable name');
  const byAddress = isIP(hostName) !== 0;
  report.noteAt(
    'metadata.name',
    byAddress
      ? `KubeGateway serves this cluster to connections without a server name made to the address "${hostName}"; kubegate names it "${name}" and serves it on a listener bound to that address: add one with cluster: ${name}`
      : `KubeGateway serves this cluster to clients that connect by the host name "${hostName}"; kubegate names it "${name}" and lists the name in hosts, so every listener serves it by SNI`,
  );
  const forceOpen = featureGates(metadata, report);

  const spec = objectAt(obj.spec, 'spec', report) ?? {};
  reportUnknownKeys(spec, SPEC, 'spec', report);
  const servers = translateServers(spec.servers, 'spec.servers', report);
  const credentials = translateCredentials(
    spec.clientConfig,
    spec.secureServing,
    {
      upstream: { namespace: secretNamespace, name: `${name}-upstream` },
      clientCA: { namespace: secretNamespace, name: `${name}-client-ca` },
    },
    report,
  );
  const schemas = translateFlowControl(spec.flowControl, 'spec.flowControl', report);
  const logging = objectAt(spec.logging, 'spec.logging', report) ?? {};
  reportUnknownKeys(logging, ['mode'], 'spec.logging', report);
  checkLogMode(logging.mode, 'spec.logging.mode', report);
  const { rules, referenced } = translatePolicies(spec.dispatchPolicies, servers, schemas, report);
  for (const [schemaName, schema] of schemas)
    if (!referenced.has(schemaName))
      report.noteAt(
        schema.path,
        `no dispatch policy names "${schemaName}", so it limits nothing; not emitted`,
      );
  report.noteAt(
    'spec.dispatchPolicies',
    'a request no policy matches gets 500 ("no router rule matches") from KubeGateway; defaultRule denies it with 500 too',
  );

  const out: CRDClusterSpec = {
    endpoints: servers.endpoints,
    upstreamCA: credentials.upstreamCA,
    credentials: credentials.credentials,
  };
  if (credentials.clientCA) out.clientCA = credentials.clientCA;
  const hosts = translateHosts(
    [...(byAddress ? [] : [{ value: hostName, at: 'metadata.name' }]), ...credentials.serverNames],
    report,
  );
  if (hosts.length > 0) out.hosts = hosts;
  const m = credentials.materials;
  if (m.servingCert !== undefined && hosts.length > 0) {
    const serving = { namespace: secretNamespace, name: `${name}-serving` };
    out.serving = { secretRef: serving };
    report.noteAt(
      'spec.secureServing.certData',
      `decoded into materials.servingCert/servingKey; serving refers to Secret ${serving.namespace}/${serving.name} (keys tls.crt, tls.key), presented to clients connecting by a name in hosts`,
    );
  } else if (m.servingCert !== undefined)
    for (const field of ['certData', 'keyData'])
      report.unsupportedAt(
        `spec.secureServing.${field}`,
        'no host name to present it for (kubegate picks a serving certificate by SNI): give it to the listener serving this cluster (certFile, keyFile); decoded into materials.servingCert/servingKey',
      );
  out.balancer = 'round-robin';
  if (forceOpen)
    out.circuitBreaker = {
      forceOpen: true,
      message: `requests for ${hostName} are denied (DenyAllRequests)`,
    };
  out.rules = rules;
  out.defaultRule = {
    action: 'deny',
    deny: { code: 500, message: 'no dispatch policy matches this request' },
  };
  return {
    name,
    spec: out,
    unsupported: report.unsupported,
    notes: report.notes,
    materials: credentials.materials,
  };
}

/** True when the feature gates turn on DenyAllRequests. */
function featureGates(metadata: Record<string, unknown>, report: TranslationReport): boolean {
  const annotations = isObj(metadata.annotations) ? metadata.annotations : {};
  const at = child('metadata.annotations', FEATURE_GATES_ANNOTATION);
  const value = stringAt(annotations[FEATURE_GATES_ANNOTATION], at, report);
  return value === undefined ? false : translateFeatureGates(value, at, report).forceOpen;
}
