import { createPrivateKey, X509Certificate } from 'node:crypto';

// Checks of PEM material before it is swapped in, so that a half-rotated pair (the new certificate
// already renamed into place, its key not yet) or a file cut short is refused with a message that
// names the file, while the material that serves now keeps serving. Node would otherwise refuse it
// only later and less helpfully: `setSecureContext` throws "key values mismatch" after the clusters
// were applied, and an upstream session with a bad pair fails at connect, endpoint after endpoint.

/** The certificates of a PEM bundle (a CA file), in order; throws when there is none or one is bad. */
export function certificatesOf(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM certificate in it');
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new Error(`certificate ${i + 1} of ${blocks.length} does not parse: ${(err as Error).message}`, {
        cause: err,
      });
    }
  });
}

/** Why a CA bundle cannot be used, or null. */
export function checkCABundle(pem: string): string | null {
  try {
    certificatesOf(pem);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Which file of a certificate and key pair is wrong, and why; null when the key is the certificate's. */
export interface PairProblem {
  readonly file: 'cert' | 'key';
  readonly message: string;
}

/**
 * Whether `keyPEM` is the private key of the first (leaf) certificate of `certPEM`. A mismatch is
 * reported on the key file: rotation tools rename the certificate first as often as the key, and
 * either way it is the pair that is wrong, which the message says.
 */
export function checkKeyPair(certPEM: string, keyPEM: string): PairProblem | null {
  let leaf: X509Certificate;
  try {
    leaf = certificatesOf(certPEM)[0];
  } catch (err) {
    return { file: 'cert', message: (err as Error).message };
  }
  let key;
  try {
    key = createPrivateKey(keyPEM);
  } catch {
    // The parser's message can quote the input; a key's bytes never go to a log.
    return { file: 'key', message: 'no usable PEM private key in it' };
  }
  if (!leaf.checkPrivateKey(key))
    return {
      file: 'key',
      message: `private key does not match the certificate (serial ${leaf.serialNumber}); a half-written pair is refused and the last good pair keeps serving`,
    };
  return null;
}

/** What a log line may say about a certificate file: who it names, its serial and fingerprint, its end. */
export function describeCertificate(pem: string): {
  subject: string;
  serial: string;
  sha256: string;
  notAfter: string;
} | null {
  try {
    const c = certificatesOf(pem)[0];
    return {
      subject: c.subject.replaceAll('\n', ', '),
      serial: c.serialNumber,
      sha256: c.fingerprint256,
      notAfter: c.validTo,
    };
  } catch {
    return null;
  }
}
