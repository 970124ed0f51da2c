import { createSecureContext, type SecureContext } from 'node:tls';
import { TLS_POLICY } from '../../proxy/tls-policy.ts';
import type { ListenerTLSIR } from '../ir.ts';

/** A listener certificate Node accepted, with the PEM it came from. */
export interface ServingCertificate {
  readonly cert: string;
  readonly key: string;
  readonly context: SecureContext;
}

/** Node refused every certificate of a listener. */
export class ListenerCertificateError extends Error {
  override name = 'ListenerCertificateError';
}

/**
 * Secure contexts by certificate and key, under the gateway's TLS policy (`src/proxy/tls-policy.ts`).
 * Building one costs milliseconds, so an apply reuses those of the previous one; `retain` then
 * forgets the ones no listener uses any more.
 */
export class SecureContextCache {
  #current = new Map<string, ServingCertificate>();
  #next = new Map<string, ServingCertificate>();

  /**
   * The first certificate of the list Node accepts; throws ListenerCertificateError when none.
   * With `ca`, the context also checks client certificates against it (the connection's context
   * after SNI is the one whose CA Node verifies with).
   */
  serving(tls: ListenerTLSIR, ca: string | null = null): ServingCertificate {
    const errors: string[] = [];
    for (const c of tls.certificates) {
      const id = `${c.cert}\0${c.key}\0${ca ?? ''}`;
      let s = this.#next.get(id) ?? this.#current.get(id);
      if (s === undefined) {
        try {
          s = {
            cert: c.cert,
            key: c.key,
            context: createSecureContext({
              ...TLS_POLICY,
              cert: c.cert,
              key: c.key,
              ...(ca === null ? {} : { ca }),
            }),
          };
        } catch (err) {
          errors.push((err as Error).message);
          continue;
        }
      }
      this.#next.set(id, s);
      return s;
    }
    throw new ListenerCertificateError(
      tls.certificates.length === 0 ? 'no certificate' : `no usable certificate: ${errors.join('; ')}`,
    );
  }

  /** Ends an apply: keeps only the contexts `serving` handed out since the last call. */
  retain(): void {
    this.#current = this.#next;
    this.#next = new Map();
  }
}
