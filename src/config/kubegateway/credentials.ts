import { decodeInline } from './inline-data.ts';
import type { ServedName } from './hosts.ts';
import { booleanAt, integerAt, objectAt, reportUnknownKeys, stringAt, stringsAt } from './read.ts';
import type { TranslationReport } from './report.ts';
import type { KubeGatewayMaterials } from './types.ts';

/** A Secret the CRD-form spec refers to. */
export interface SecretPlace {
  namespace: string;
  name: string;
}

/** What `clientConfig` and `secureServing` become. */
export interface TranslatedCredentials {
  upstreamCA: { secretRef: SecretPlace };
  credentials: { secretRef: SecretPlace };
  clientCA?: { secretRef: SecretPlace };
  materials: KubeGatewayMaterials;
  /** `secureServing.serverNames`: more names KubeGateway serves the cluster under. */
  serverNames: ServedName[];
}

const CLIENT_CONFIG = [
  'insecure',
  'bearerToken',
  'keyData',
  'certData',
  'caData',
  'qps',
  'burst',
  'qpsDivisor',
  'serverName',
];
const SECURE_SERVING = ['keyData', 'certData', 'clientCAData', 'serverNames'];

/**
 * Translates `spec.clientConfig` (how KubeGateway reaches the apiservers) and `spec.secureServing`
 * (how it serves this cluster's clients). Inline base64 data is decoded into `materials`; the spec
 * refers to the Secrets `upstream` (ca.crt, tls.crt, tls.key or token) and `clientCA` (ca.crt).
 */
export function translateCredentials(
  clientConfig: unknown,
  secureServing: unknown,
  secrets: { upstream: SecretPlace; clientCA: SecretPlace },
  report: TranslationReport,
): TranslatedCredentials {
  const materials: KubeGatewayMaterials = {};
  const out: TranslatedCredentials = {
    upstreamCA: { secretRef: { ...secrets.upstream } },
    credentials: { secretRef: { ...secrets.upstream } },
    materials,
    serverNames: [],
  };
  readClientConfig(clientConfig, 'spec.clientConfig', materials, report);
  const upstreamKeys = [
    materials.ca !== undefined && 'ca.crt',
    materials.cert !== undefined && 'tls.crt, tls.key',
    materials.token !== undefined && 'token',
  ].filter((k) => k !== false);
  if (upstreamKeys.length > 0)
    report.noteAt(
      'spec.clientConfig',
      `inline data decoded into materials; the spec refers to Secret ${place(secrets.upstream)} (keys ${upstreamKeys.join(', ')}): create it with kubeGatewaySecrets() or use materials in memory`,
    );
  const serving = readSecureServing(secureServing, 'spec.secureServing', materials, report);
  out.serverNames = serving.serverNames;
  if (serving.clientCA) {
    out.clientCA = { secretRef: { ...secrets.clientCA } };
    report.noteAt(
      'spec.secureServing.clientCAData',
      `decoded into materials.clientCA; clientCA refers to Secret ${place(secrets.clientCA)} (key ca.crt)`,
    );
  }
  return out;
}

function readClientConfig(
  v: unknown,
  path: string,
  m: KubeGatewayMaterials,
  report: TranslationReport,
): void {
  const c = objectAt(v, path, report) ?? {};
  reportUnknownKeys(c, CLIENT_CONFIG, path, report);
  if (booleanAt(c.insecure, `${path}.insecure`, report) === true)
    report.unsupportedAt(
      `${path}.insecure`,
      'kubegate always verifies the apiservers against upstreamCA and has no way to skip it; supply caData (ca.crt in the upstream Secret)',
    );
  const ca = decodeInline(c.caData, `${path}.caData`, 'pem', report);
  if (ca !== undefined) m.ca = ca;
  else
    report.noteAt(
      `${path}.caData`,
      "absent: kubegate needs the apiservers' CA as ca.crt in the upstream Secret",
    );
  const cert = decodeInline(c.certData, `${path}.certData`, 'pem', report);
  const key = decodeInline(c.keyData, `${path}.keyData`, 'pem', report);
  if (cert !== undefined && key !== undefined) {
    m.cert = cert;
    m.key = key;
  } else if (cert !== undefined || key !== undefined) {
    const [has, lacks] = cert !== undefined ? ['certData', 'keyData'] : ['keyData', 'certData'];
    report.unsupportedAt(
      `${path}.${has}`,
      `${has} without ${lacks} is not a usable client certificate; ignored`,
    );
  }
  const token = decodeInline(c.bearerToken, `${path}.bearerToken`, 'token', report);
  if (token !== undefined && m.cert !== undefined)
    report.unsupportedAt(
      `${path}.bearerToken`,
      'KubeGateway sends the token next to its client certificate, and the apiserver authenticates the certificate first; kubegate uses one credential, the certificate, so the token is dropped',
    );
  else if (token !== undefined) m.token = token;
  if (m.cert === undefined && m.token === undefined)
    report.noteAt(
      path,
      'no client credential: kubegate needs tls.crt+tls.key or token in the upstream Secret',
    );
  for (const field of ['qps', 'burst', 'qpsDivisor']) {
    const n = integerAt(c[field], `${path}.${field}`, report);
    if (n !== undefined && n !== 0)
      report.unsupportedAt(
        `${path}.${field}`,
        "throttles only KubeGateway's own client (health checks, TokenReview, SubjectAccessReview), never proxied requests; kubegate has no such client-side limit",
      );
  }
  const serverName = stringAt(c.serverName, `${path}.serverName`, report);
  if (serverName !== undefined && serverName !== '')
    report.unsupportedAt(
      `${path}.serverName`,
      'kubegate verifies each apiserver under the host name of its endpoint URL and cannot override it; use endpoint URLs with the names the certificates carry',
    );
}

/**
 * Reads `secureServing`: the serving pair into materials (the caller carries it into `serving`),
 * the client CA, and the server names.
 */
function readSecureServing(
  v: unknown,
  path: string,
  m: KubeGatewayMaterials,
  report: TranslationReport,
): { clientCA: boolean; serverNames: ServedName[] } {
  const s = objectAt(v, path, report) ?? {};
  reportUnknownKeys(s, SECURE_SERVING, path, report);
  const cert = decodeInline(s.certData, `${path}.certData`, 'pem', report);
  const key = decodeInline(s.keyData, `${path}.keyData`, 'pem', report);
  if (cert !== undefined && key !== undefined) {
    m.servingCert = cert;
    m.servingKey = key;
  } else
    for (const [field, value] of [
      ['certData', cert],
      ['keyData', key],
    ] as const)
      if (value !== undefined)
        report.unsupportedAt(`${path}.${field}`, 'certData and keyData go together; ignored');
  const serverNames = stringsAt(s.serverNames, `${path}.serverNames`, report);
  const clientCA = decodeInline(s.clientCAData, `${path}.clientCAData`, 'pem', report);
  if (clientCA !== undefined) m.clientCA = clientCA;
  return { clientCA: clientCA !== undefined, serverNames };
}

function place(p: SecretPlace): string {
  return `${p.namespace}/${p.name}`;
}
