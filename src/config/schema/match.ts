import { Type, type Static } from 'typebox';
import { TextList } from './common.ts';

/**
 * What a rule selects. Every field given must match (AND); within a field any value may match (OR);
 * an absent field matches everything. `*` in a pattern stands for any run of characters.
 */
const fields = {
  verbs: Type.Optional(
    TextList(
      'Kubernetes verbs (get, list, watch, create, update, patch, delete, deletecollection, proxy…) or, for non-resource URLs, lowercase HTTP methods; `*` for all',
    ),
  ),
  apiGroups: Type.Optional(
    Type.Array(Type.String(), { description: 'API groups; "" is the core group; `*` for all' }),
  ),
  resources: Type.Optional(
    TextList(
      'resources as RBAC writes them: `pods` (no subresource), `pods/log`, `*/scale` (the scale subresource of any resource), `*` (everything)',
    ),
  ),
  namespaces: Type.Optional(
    Type.Array(Type.String(), { description: 'namespace patterns; "" matches cluster-scoped requests' }),
  ),
  names: Type.Optional(TextList('object name patterns')),
  users: Type.Optional(TextList('user name patterns (as the apiserver sees them after impersonation)')),
  groups: Type.Optional(TextList("group patterns; any of the user's groups may match")),
  serviceAccounts: Type.Optional(
    TextList('service accounts as `namespace:name` patterns, e.g. `kube-system:*`'),
  ),
  nonResourceURLs: Type.Optional(
    TextList('non-resource paths; a trailing `*` matches any suffix (`/healthz*`); `*` for all'),
  ),
  clientCIDRs: Type.Optional(TextList('client address ranges, e.g. 10.0.0.0/8 or 2001:db8::/32')),
};

/** A Match with its own description (`match` and `exclude` read the same fields differently). */
export const matchSchema = (description: string) =>
  Type.Object(fields, { additionalProperties: false, description });

export const Match = matchSchema(
  'requests this rule applies to: every field given must match; within a field any value may',
);
export type Match = Static<typeof Match>;
