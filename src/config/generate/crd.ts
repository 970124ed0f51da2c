import { stringify } from 'yaml';
import { CRDClusterSpec } from '../schema/cluster.ts';
import { toStructural } from './structural.ts';

const CONDITION = {
  type: 'object',
  required: ['type', 'status'],
  properties: {
    type: { type: 'string' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string' },
    message: { type: 'string' },
    observedGeneration: { type: 'integer' },
    lastTransitionTime: { type: 'string', format: 'date-time' },
  },
};

/** The CustomResourceDefinition of `kubegate.io/v1alpha1 UpstreamCluster`, generated from the schema. */
export function upstreamClusterCRD(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'upstreamclusters.kubegate.io' },
    spec: {
      group: 'kubegate.io',
      scope: 'Cluster',
      names: {
        kind: 'UpstreamCluster',
        listKind: 'UpstreamClusterList',
        plural: 'upstreamclusters',
        singular: 'upstreamcluster',
        shortNames: ['kgc'],
        categories: ['kubegate'],
      },
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            {
              name: 'Accepted',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
            },
            { name: 'Endpoints', type: 'integer', jsonPath: '.status.endpoints' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'An upstream Kubernetes cluster served through kubegate, with its routing rules and limits.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructural(CRDClusterSpec),
                status: {
                  type: 'object',
                  properties: {
                    observedGeneration: { type: 'integer' },
                    endpoints: { type: 'integer' },
                    conditions: {
                      type: 'array',
                      items: CONDITION,
                      'x-kubernetes-list-type': 'map',
                      'x-kubernetes-list-map-keys': ['type'],
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

/** The CRD as the YAML file committed under deploy/crds/. */
export function upstreamClusterCRDYAML(): string {
  return `# Generated from src/config/schema by \`npm run generate\`; do not edit.\n${stringify(upstreamClusterCRD(), { lineWidth: 0 })}`;
}
