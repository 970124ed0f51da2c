import { constants } from 'node:crypto';

/**
 * TLS 1.2 and 1.3 only, forward-secret AEAD suites only (the TLS 1.2 list is Mozilla's
 * "intermediate" one, which is also what Go's crypto/tls, and so kube-apiserver, prefers), and
 * no renegotiation: a TLS 1.2 client could otherwise renegotiate (Node allows 3 per 10 minutes),
 * each one a full handshake's CPU for the server.
 */
export const TLS_POLICY = Object.freeze({
  minVersion: 'TLSv1.2' as const,
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
});
