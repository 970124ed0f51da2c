import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { KeyedTokenBuckets } from '../../../policy/index.ts';
import type { LocalRateLimitIR } from '../../ir.ts';
import type { Denial } from './denial.ts';
import { plain } from './ip-filter.ts';

/** Keys (client addresses, header or claim values) remembered per bucket set (least recently seen forgotten first). */
const MAX_CLIENTS = 65_536;
/** Bucket sets kept across reloads; the oldest is dropped past this. */
const MAX_BUCKET_SETS = 4096;
/** A longer header or claim value is keyed by its digest, so remembered keys stay small. */
const MAX_KEY_CHARS = 256;
/** The one bucket requests without the header or claim share. */
const MISSING = 'm';

// Buckets by name (`policy@target`) and shape, kept across applies: a reload that leaves a
// policy as it was must not hand every client a full bucket again.
const bucketSets = new Map<string, { shape: string; buckets: KeyedTokenBuckets }>();

function bucketsFor(l: LocalRateLimitIR): KeyedTokenBuckets {
  const shape = `${l.tokens}/${l.fillIntervalMs}/${l.key === undefined ? '' : JSON.stringify(l.key)}`;
  const found = bucketSets.get(l.bucket);
  if (found !== undefined && found.shape === shape) return found.buckets;
  if (found === undefined && bucketSets.size >= MAX_BUCKET_SETS)
    bucketSets.delete(bucketSets.keys().next().value!);
  const buckets = new KeyedTokenBuckets({
    qps: (l.tokens * 1000) / l.fillIntervalMs,
    burst: l.tokens,
    maxKeys: MAX_CLIENTS,
  });
  bucketSets.set(l.bucket, { shape, buckets });
  return buckets;
}

/**
 * A token bucket per client address (the connection's peer), per value of a request header, or
 * per value of a claim of the verified JWT: 429 with Retry-After when empty.
 */
export class LocalRateLimit {
  /** Set when the buckets are per JWT claim: taken after the token is verified, with `takeClaim`. */
  readonly claim: string | null;
  readonly #header: string | null;
  readonly #buckets: KeyedTokenBuckets;

  constructor(l: LocalRateLimitIR) {
    this.#buckets = bucketsFor(l);
    this.claim = l.key?.type === 'Claim' ? l.key.claim : null;
    this.#header = l.key?.type === 'Header' ? l.key.header : null;
  }

  /** By client address or header: null when the request's bucket had a token (now taken), else the 429. */
  take(req: IncomingMessage): Denial | null {
    if (this.#header !== null) return this.#take(valueKey(req.headers[this.#header]));
    const address = req.socket.remoteAddress;
    return this.#take(address === undefined ? '' : plain(address)[0]);
  }

  /** By claim: the verified claims of the request's token (none: the missing bucket). */
  takeClaim(claims: Readonly<Record<string, unknown>> | null): Denial | null {
    const v = claims === null ? undefined : claims[this.claim!];
    return this.#take(valueKey(typeof v === 'number' || typeof v === 'boolean' ? String(v) : v));
  }

  #take(key: string): Denial | null {
    const waitMs = this.#buckets.take(key);
    if (waitMs === 0) return null;
    return {
      status: 429,
      text: 'too many requests',
      headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
    };
  }
}

/** The bucket key of a header or claim value; absent, empty or not a string: the missing bucket. */
function valueKey(v: unknown): string {
  if (Array.isArray(v)) v = v.join(', ');
  if (typeof v !== 'string' || v === '') return MISSING;
  return v.length <= MAX_KEY_CHARS ? `v${v}` : `h${createHash('sha256').update(v).digest('base64')}`;
}
