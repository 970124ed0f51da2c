export { translateKubeGatewayCluster } from './translate.ts';
export { kubeGatewaySecrets, type SecretManifest } from './secrets.ts';
export { KubeGatewayTranslationError, type KubeGatewayErrorCode } from './errors.ts';
export { FEATURE_GATES_ANNOTATION } from './feature-gates.ts';
export type {
  KubeGatewayMaterials,
  KubeGatewayTranslation,
  TranslateOptions,
  TranslationNote,
  UnsupportedField,
} from './types.ts';
