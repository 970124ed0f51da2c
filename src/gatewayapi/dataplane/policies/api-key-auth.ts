import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIKeyAuthIR } from '../../ir.ts';

const MAX_KEY = 4096;

/** API keys in a request header, checked against the SHA-256 digests of the Secret's keys. */
export class APIKeyAuth {
  /** Lower-case header name. */
  readonly header: string;
  readonly stripHeader: boolean;
  readonly #digests: readonly Buffer[];

  constructor(a: APIKeyAuthIR) {
    this.header = a.header;
    this.stripHeader = a.stripHeader;
    this.#digests = a.keys.map((k) => Buffer.from(k, 'hex'));
  }

  /** Whether the header holds exactly one known key (a repeated header is refused). */
  admits(value: string | string[] | undefined): boolean {
    if (typeof value !== 'string' || value === '' || value.length > MAX_KEY) return false;
    const got = createHash('sha256').update(value.trim(), 'utf8').digest();
    let ok = false;
    for (const d of this.#digests) ok = timingSafeEqual(d, got) || ok;
    return ok;
  }
}
