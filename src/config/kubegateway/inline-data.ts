import { Buffer } from 'node:buffer';
import { stringAt } from './read.ts';
import type { TranslationReport } from './report.ts';

// KubeGateway's certificate, key, CA and token fields are Go `[]byte`, which JSON (and so YAML)
// carries as standard base64 with padding. Go's decoder skips CR and LF, nothing else.

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** What an inline field must hold once decoded. */
export type InlineKind = 'pem' | 'token';

/** The decoded text of the base64 field at `path`, or undefined when absent or unusable (reported). */
export function decodeInline(
  value: unknown,
  path: string,
  kind: InlineKind,
  report: TranslationReport,
): string | undefined {
  const text = stringAt(value, path, report);
  if (text === undefined || text === '') return undefined;
  const compact = text.replace(/[\r\n]/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
    report.unsupportedAt(path, 'not base64 (KubeGateway stores these bytes base64-encoded); ignored');
    return undefined;
  }
  const decoded = Buffer.from(compact, 'base64').toString('utf8');
  if (kind === 'pem' && !decoded.includes('-----BEGIN ')) {
    report.unsupportedAt(path, 'decodes to something that is not PEM; ignored');
    return undefined;
  }
  return decoded;
}
