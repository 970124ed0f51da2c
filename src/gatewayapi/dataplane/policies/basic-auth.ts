import { createHash, timingSafeEqual } from 'node:crypto';
import type { BasicAuthIR } from '../../ir.ts';

// RFC 7617 credentials are `user:password` in base64; anything longer is refused unread.
const MAX_CREDENTIALS = 4096;

/** HTTP Basic authentication (RFC 7617) against htpasswd `{SHA}` users. */
export class BasicAuth {
  /** The WWW-Authenticate challenge a refused request gets. */
  readonly challenge: string;
  readonly #users: ReadonlyMap<string, Buffer>;

  constructor(b: BasicAuthIR) {
    this.challenge = `Basic realm="${b.realm}", charset="UTF-8"`;
    this.#users = new Map(Object.entries(b.users).map(([u, d]) => [u, Buffer.from(d, 'base64')]));
  }

  /** Whether an Authorization header carries a known user and its password. */
  admits(authorization: string | undefined): boolean {
    if (authorization === undefined || authorization.length > MAX_CREDENTIALS) return false;
    const space = authorization.indexOf(' ');
    if (space < 0 || authorization.slice(0, space).toLowerCase() !== 'basic') return false;
    const token = authorization.slice(space + 1).trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return false;
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return false;
    const want = this.#users.get(decoded.slice(0, colon));
    // An unknown user costs the same hash as a known one.
    const got = createHash('sha1')
      .update(decoded.slice(colon + 1), 'utf8')
      .digest();
    return want !== undefined && want.length === got.length && timingSafeEqual(want, got);
  }
}
