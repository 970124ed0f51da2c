import { KubeletHttpError } from './errors.ts';
import { parseRfc3339 } from './cri-log.ts';

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  /** Epoch milliseconds; entries older than this are skipped. */
  since: number | null;
  tailLines: number | null;
  limitBytes: number | null;
}

// Go's strconv.ParseBool, which the query decoding into PodLogOptions uses.
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '') return false;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new KubeletHttpError(400, `invalid ${name} value ${JSON.stringify(v)}: want true or false`);
}

function int(q: URLSearchParams, name: string, min: number): number | null {
  const v = q.get(name);
  if (v === null || v === '') return null;
  if (!/^-?\d+$/.test(v))
    throw new KubeletHttpError(400, `invalid ${name} value ${JSON.stringify(v)}: want an integer`);
  const n = Number(v);
  if (n < min)
    throw new KubeletHttpError(400, `${name} must be ${min === 0 ? 'non-negative' : `at least ${min}`}`);
  return n;
}

export function parseLogOptions(q: URLSearchParams, now = Date.now()): LogOptions {
  const sinceSeconds = int(q, 'sinceSeconds', 1);
  const sinceTimeRaw = q.get('sinceTime');
  let since: number | null = null;
  if (sinceTimeRaw !== null && sinceTimeRaw !== '') {
    since = parseRfc3339(sinceTimeRaw);
    if (since === null)
      throw new KubeletHttpError(400, `invalid sinceTime ${JSON.stringify(sinceTimeRaw)}: want RFC 3339`);
    if (sinceSeconds !== null)
      throw new KubeletHttpError(400, 'at most one of sinceTime or sinceSeconds may be specified');
  } else if (sinceSeconds !== null) {
    since = now - sinceSeconds * 1000;
  }
  return {
    follow: bool(q, 'follow'),
    previous: bool(q, 'previous'),
    timestamps: bool(q, 'timestamps'),
    since,
    tailLines: int(q, 'tailLines', 0),
    limitBytes: int(q, 'limitBytes', 1),
  };
}
