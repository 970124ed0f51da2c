import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Values sealed with AES-256-GCM (encrypted and authenticated) into base64url text, for the
 * session cookie, the login cookie and the `state` parameter. The purpose is the additional
 * authenticated data, so a value sealed for one purpose never opens as another.
 */
export class Seal {
  readonly #key: Buffer;

  /** `key`: 32 bytes. */
  constructor(key: Buffer) {
    this.#key = key;
  }

  seal(purpose: string, value: unknown): string {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(purpose));
    const body = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
    return Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
  }

  /** The value `text` holds, or null when it was not sealed by this key for this purpose. */
  open(purpose: string, text: string): Record<string, unknown> | null {
    const raw = Buffer.from(text, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES + 2) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      d.setAAD(Buffer.from(purpose));
      d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const plain = Buffer.concat([d.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), d.final()]);
      const v: unknown = JSON.parse(plain.toString('utf8'));
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      // Tampered, truncated, or sealed by another key: not ours.
      return null;
    }
  }
}
