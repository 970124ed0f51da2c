import type { Limits } from '../schema/index.ts';
import { index, integerAt, listAt, objectAt, reportUnknownKeys, stringAt } from './read.ts';
import type { TranslationReport } from './report.ts';

/** One `flowControlSchemas` entry in kubegate's terms. */
export interface TranslatedSchema {
  /** Path of the schema in the KubeGateway object. */
  path: string;
  /** The per-rule limits; undefined for `exempt` (no limit) and for schemas that could not be read. */
  limits?: Limits;
}

const SCHEMA = [
  'name',
  'exempt',
  'maxRequestsInflight',
  'tokenBucket',
  'strategy',
  'globalMaxRequestsInflight',
  'globalTokenBucket',
];
const MAX_LIMIT = 1e6;

/**
 * Translates `spec.flowControl.flowControlSchemas` into limits by schema name. KubeGateway takes one
 * kind per schema, in this order: exempt, maxRequestsInflight, tokenBucket; and it checks every
 * request of a policy against the schema, long-running ones included.
 */
export function translateFlowControl(
  value: unknown,
  path: string,
  report: TranslationReport,
): Map<string, TranslatedSchema> {
  const out = new Map<string, TranslatedSchema>();
  if (Array.isArray(value)) {
    report.unsupportedAt(
      path,
      'a list here is not valid KubeGateway (its API server rejects the object): the schemas go under flowControl.flowControlSchemas; ignored',
    );
    return out;
  }
  const fc = objectAt(value, path, report);
  if (fc === undefined) return out;
  reportUnknownKeys(fc, ['flowControlSchemas'], path, report);
  const listPath = `${path}.flowControlSchemas`;
  (listAt(fc.flowControlSchemas, listPath, report) ?? []).forEach((raw, i) => {
    const at = index(listPath, i);
    const schema = objectAt(raw, at, report);
    if (schema === undefined) return;
    reportUnknownKeys(schema, SCHEMA, at, report);
    const name = stringAt(schema.name, `${at}.name`, report);
    if (name === undefined || name === '') {
      report.unsupportedAt(`${at}.name`, 'a schema without a name cannot be referenced; ignored');
      return;
    }
    if (out.has(name)) {
      report.unsupportedAt(
        `${at}.name`,
        `duplicate schema name "${name}" (KubeGateway rejects the object); ignored`,
      );
      return;
    }
    out.set(name, { path: at, limits: schemaLimits(schema, at, report) });
  });
  return out;
}

function schemaLimits(
  schema: Record<string, unknown>,
  at: string,
  report: TranslationReport,
): Limits | undefined {
  for (const field of ['globalMaxRequestsInflight', 'globalTokenBucket'])
    if (schema[field] !== undefined && schema[field] !== null)
      report.unsupportedAt(
        `${at}.${field}`,
        "a limit shared by all gateway replicas through KubeGateway's rate-limit server; kubegate limits are per replica; ignored",
      );
  const strategy = stringAt(schema.strategy, `${at}.strategy`, report);
  if (strategy !== undefined && strategy !== '' && !/^local(limit)?$/i.test(strategy))
    report.unsupportedAt(
      `${at}.strategy`,
      `"${strategy}" shares the limit across gateway replicas; kubegate limits are per replica, so the local limit is used`,
    );
  const kinds = (['exempt', 'maxRequestsInflight', 'tokenBucket'] as const).filter(
    (k) => schema[k] !== undefined && schema[k] !== null,
  );
  for (const ignored of kinds.slice(1))
    report.unsupportedAt(
      `${at}.${ignored}`,
      `KubeGateway uses one kind per schema and this one is ${kinds[0]}; ignored`,
    );
  switch (kinds[0]) {
    case 'exempt':
      objectAt(schema.exempt, `${at}.exempt`, report);
      return undefined;
    case 'maxRequestsInflight':
      return inflight(schema.maxRequestsInflight, `${at}.maxRequestsInflight`, report);
    case 'tokenBucket':
      return tokenBucket(schema.tokenBucket, `${at}.tokenBucket`, report);
    default:
      if (schema.globalMaxRequestsInflight === undefined && schema.globalTokenBucket === undefined)
        report.unsupportedAt(
          at,
          'no exempt, maxRequestsInflight or tokenBucket: nothing to translate (no limit)',
        );
      return undefined;
  }
}

function inflight(value: unknown, at: string, report: TranslationReport): Limits | undefined {
  const o = objectAt(value, at, report) ?? {};
  reportUnknownKeys(o, ['max'], at, report);
  const max = integerAt(o.max, `${at}.max`, report) ?? 0;
  if (max < 1 || max > MAX_LIMIT) {
    report.unsupportedAt(
      `${at}.max`,
      `${max} has no kubegate equivalent (in-flight limits are 1 to ${MAX_LIMIT}); no limit emitted`,
    );
    return undefined;
  }
  report.unsupportedAt(
    `${at}.max`,
    `KubeGateway counts every request of the policy in one pool, watches and other long-running requests included (a watch holds its slot while open); kubegate keeps separate pools, so each of maxInflightReadOnly, maxInflightMutating and maxLongRunning is ${max}, up to ${3 * max} together`,
  );
  return { maxInflightReadOnly: max, maxInflightMutating: max, maxLongRunning: max };
}

function tokenBucket(value: unknown, at: string, report: TranslationReport): Limits | undefined {
  const o = objectAt(value, at, report) ?? {};
  reportUnknownKeys(o, ['qps', 'burst'], at, report);
  const qps = integerAt(o.qps, `${at}.qps`, report) ?? 0;
  const burst = integerAt(o.burst, `${at}.burst`, report) ?? 0;
  if (qps < 1 || qps > MAX_LIMIT) {
    report.unsupportedAt(
      `${at}.qps`,
      `${qps} has no kubegate equivalent (qps is above 0, at most ${MAX_LIMIT}); no limit emitted`,
    );
    return undefined;
  }
  if (burst < 1 || burst > MAX_LIMIT) {
    report.unsupportedAt(
      `${at}.burst`,
      `${burst} has no kubegate equivalent (KubeGateway wants burst >= qps); kubegate's default burst, ${Math.ceil(qps)}, applies`,
    );
    return { qps };
  }
  return { qps, burst };
}
