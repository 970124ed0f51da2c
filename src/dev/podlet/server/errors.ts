/** A request the kubelet API answers with an HTTP error status and a plain-text message. */
export class KubeletHttpError extends Error {
  override name = 'KubeletHttpError';
  readonly status: number;
  /** Extra response headers (e.g. the protocol versions accepted, on a failed negotiation). */
  readonly headers: Readonly<Record<string, string | string[]>>;
  constructor(status: number, message: string, headers: Readonly<Record<string, string | string[]>> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}
