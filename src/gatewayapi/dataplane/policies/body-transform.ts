import type { TransformationIR } from '../../ir.ts';
import type { ReadBody } from '../body.ts';
import type { HeaderMap } from '../headers.ts';

/**
 * A TrafficPolicy's `transformation.requestBody` / `responseBody`: the whole body replaced by a
 * literal, encoded once. The replaced body's framing is the literal's: Content-Length is its length,
 * and Transfer-Encoding and Content-Encoding (the literal is not compressed) are dropped; a
 * response also loses its ETag and Content-Range, which described the backend's body.
 */
export class BodyTransform {
  readonly #request: Buffer | null;
  readonly #response: Buffer | null;
  readonly #requestLength: string;
  readonly #responseLength: string;

  constructor(t: TransformationIR) {
    this.#request = t.requestBody === undefined ? null : Buffer.from(t.requestBody.set, 'utf8');
    this.#response = t.responseBody === undefined ? null : Buffer.from(t.responseBody.set, 'utf8');
    this.#requestLength = String(this.#request?.length ?? 0);
    this.#responseLength = String(this.#response?.length ?? 0);
  }

  /** The route's body transformation; null when its policy replaces neither body. */
  static of(t: TransformationIR | undefined): BodyTransform | null {
    return t?.requestBody === undefined && t?.responseBody === undefined ? null : new BodyTransform(t);
  }

  /** Whether the backend gets the literal instead of the client's body. */
  get replacesRequest(): boolean {
    return this.#request !== null;
  }

  /** The body the backend gets instead of the client's, with the request's framing headers fixed. */
  requestBody(headers: HeaderMap): ReadBody {
    delete headers['transfer-encoding'];
    delete headers['content-encoding'];
    headers['content-length'] = [this.#requestLength];
    return { whole: this.#request ?? EMPTY };
  }

  /**
   * The body the client gets instead of the backend's, its headers fixed; null to relay the
   * backend's (nothing to replace, or a status that has no body: 1xx, 204, 304).
   */
  responseBody(status: number, headers: HeaderMap): Buffer | null {
    if (this.#response === null || status < 200 || status === 204 || status === 304) return null;
    delete headers['transfer-encoding'];
    delete headers['content-encoding'];
    delete headers.etag;
    delete headers['content-range'];
    headers['content-length'] = [this.#responseLength];
    return this.#response;
  }
}

const EMPTY = Buffer.alloc(0);
