import { Type, type Static } from 'typebox';
import { CRDClusterSpec } from './cluster.ts';

/** The custom resource `kubegate.io/v1alpha1 UpstreamCluster` (cluster-scoped), as kubegate reads it. */
export const UpstreamCluster = Type.Object({
  apiVersion: Type.Literal('kubegate.io/v1alpha1'),
  kind: Type.Literal('UpstreamCluster'),
  metadata: Type.Object({
    name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }),
    generation: Type.Optional(Type.Integer()),
    resourceVersion: Type.Optional(Type.String()),
    uid: Type.Optional(Type.String()),
  }),
  spec: CRDClusterSpec,
});
export type UpstreamCluster = Static<typeof UpstreamCluster>;
