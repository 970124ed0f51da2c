import type { CRDClusterSpec } from '../schema/index.ts';

/** A field of the KubeGateway object that was not carried over exactly, and what happened to it. */
export interface UnsupportedField {
  /** Exact path in the KubeGateway object, e.g. `spec.dispatchPolicies[0].rules[1].userGroups`. */
  path: string;
  reason: string;
}

/** Something carried over exactly that the operator should still know about. */
export interface TranslationNote {
  path: string;
  message: string;
}

/**
 * Certificate, key and token material decoded from the object's inline base64 fields (PEM text).
 * The CRD form names Secrets instead; `kubeGatewaySecrets` turns these into the Secrets the spec
 * refers to, or a caller that watches KubeGateway objects live uses them in memory.
 */
export interface KubeGatewayMaterials {
  /** `spec.clientConfig.caData`: verifies the apiservers (Secret key `ca.crt`). */
  ca?: string;
  /** `spec.clientConfig.certData`: the gateway's client certificate (Secret key `tls.crt`). */
  cert?: string;
  /** `spec.clientConfig.keyData` (Secret key `tls.key`). */
  key?: string;
  /** `spec.clientConfig.bearerToken` (Secret key `token`). */
  token?: string;
  /** `spec.secureServing.clientCAData`: verifies this cluster's client certificates. */
  clientCA?: string;
  /** `spec.secureServing.certData`: serving certificate (the cluster's `serving`, Secret key `tls.crt`). */
  servingCert?: string;
  /** `spec.secureServing.keyData`. */
  servingKey?: string;
}

/** The result of translating one `proxy.kubegateway.io/v1alpha1` UpstreamCluster. */
export interface KubeGatewayTranslation {
  /** The kubegate cluster name (the KubeGateway name is a host name; dots become dashes). */
  name: string;
  /** A `kubegate.io/v1alpha1` UpstreamCluster spec (CRD form), plain JSON. */
  spec: CRDClusterSpec;
  /** Every field not carried over exactly, with its path and what was done instead. */
  unsupported: UnsupportedField[];
  notes: TranslationNote[];
  materials: KubeGatewayMaterials;
}

/** How the translation names things the KubeGateway object does not. */
export interface TranslateOptions {
  /** Namespace of the Secrets the spec refers to (default `kubegate-system`). */
  secretNamespace?: string;
}
