/** Stable codes of the ways an object cannot be translated at all. */
export type KubeGatewayErrorCode = 'KGW_NOT_AN_OBJECT' | 'KGW_WRONG_KIND' | 'KGW_NO_NAME' | 'KGW_BAD_OPTION';

/** The input is not a KubeGateway UpstreamCluster; field-level problems are reported, not thrown. */
export class KubeGatewayTranslationError extends Error {
  override name = 'KubeGatewayTranslationError';
  readonly code: KubeGatewayErrorCode;
  readonly path: string;

  constructor(code: KubeGatewayErrorCode, path: string, message: string) {
    super(`${path}: ${message}`);
    this.code = code;
    this.path = path;
  }
}
