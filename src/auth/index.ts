export { Authenticator } from './authenticator.ts';
export type { AuthenticationInput, AuthenticatorOptions, TokenAuthenticator } from './authenticator.ts';
export { kubeAccessReviewer } from './access-review.ts';
export type { AccessAttributes, AccessDecision, AccessReviewer } from './access-review.ts';
export { parseBearer } from './bearer.ts';
export type { BearerCredential } from './bearer.ts';
export { FRONT_PROXY_DEFAULTS, FrontProxyAuthenticator } from './front-proxy.ts';
export type { FrontProxyOptions, RawHeaders } from './front-proxy.ts';
export { distinctHeaders, goQuote } from './go-text.ts';
export { authorizeImpersonation, readImpersonation } from './impersonation.ts';
export type { HeaderMap, ImpersonationRequest } from './impersonation.ts';
export {
  escapeExtraKey,
  impersonationHeaders,
  isFrontProxyHeader,
  isImpersonationHeader,
  OWN_CREDENTIAL,
} from './impersonation-headers.ts';
export { ServiceAccountJWTAuthenticator } from './service-account-jwt.ts';
export type { JWKSStats, ServiceAccountJWTAuthenticatorOptions } from './service-account-jwt.ts';
export { TokenReviewAuthenticator, kubeTokenReviewer } from './token-review.ts';
export type {
  TokenReviewAuthenticatorOptions,
  TokenReviewer,
  TokenReviewResult,
  TokenReviewStats,
  TokenReviewUser,
} from './token-review.ts';
export {
  ALL_AUTHENTICATED,
  ALL_UNAUTHENTICATED,
  ANONYMOUS_USER,
  serviceAccountUsername,
  splitServiceAccountUsername,
} from './user.ts';
export { identityFromCertificate } from './x509.ts';
export { ExpiringLRU } from './token-cache.ts';
