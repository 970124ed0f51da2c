import { KeyedTokenBuckets } from '../../../policy/index.ts';
import type { LocalRateLimitIR } from '../../ir.ts';
import type { Denial } from './denial.ts';
import { plain } from './ip-filter.ts';

/** Client addresses remembered per bucket set (least recently seen forgotten first). */
const MAX_CLIENTS = 65_536;
/** Bucket sets kept across reloads; the oldest is dropped past this. */
const MAX_BUCKET_SETS = 4096;

// Buckets by name (`policy@target`) and shape, kept across applies: a reload that leaves a
// policy as it was must not hand every client a full bucket again.
const bucketSets = new Map<string, { shape: string; buckets: KeyedTokenBuckets }>();

function bucketsFor(l: LocalRateLimitIR): KeyedTokenBuckets {
  const shape = `${l.tokens}/${l.fillIntervalMs}`;
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

/** A token bucket per client address (the connection's peer): 429 with Retry-After when empty. */
export class LocalRateLimit {
  readonly #buckets: KeyedTokenBuckets;

  constructor(l: LocalRateLimitIR) {
    this.#buckets = bucketsFor(l);
  }

  /** null when the client's bucket had a token (now taken), else the 429 to answer. */
  take(address: string | undefined): Denial | null {
    const key = address === undefined ? '' : plain(address)[0];
    const waitMs = this.#buckets.take(key);
    if (waitMs === 0) return null;
    return {
      status: 429,
      text: 'too many requests',
      headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
    };
  }
}
