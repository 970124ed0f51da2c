import type { JSONClient } from '../kube/client.ts';
import type { Identity } from '../request/types.ts';

/** What an access check asks about (a resource request's authorization attributes). */
export interface AccessAttributes {
  verb: string;
  group: string;
  version?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name: string;
}

/** An authorizer's answer; `reason` and `error` end up in the Forbidden message, like kube-apiserver's. */
export interface AccessDecision {
  allowed: boolean;
  reason?: string;
  error?: string;
}

/** Decides whether `user` may do `attrs` (normally through SubjectAccessReview). */
export interface AccessReviewer {
  allowed(user: Identity, attrs: AccessAttributes): Promise<boolean | AccessDecision>;
}

interface SubjectAccessReviewStatus {
  allowed?: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

/** An `AccessReviewer` that creates `authorization.k8s.io/v1` SubjectAccessReviews with the gateway's credential. */
export function kubeAccessReviewer(client: JSONClient): AccessReviewer {
  return {
    async allowed(user, attrs) {
      const resourceAttributes: Record<string, string> = {
        verb: attrs.verb,
        group: attrs.group,
        resource: attrs.resource,
        name: attrs.name,
      };
      if (attrs.version) resourceAttributes.version = attrs.version;
      if (attrs.subresource) resourceAttributes.subresource = attrs.subresource;
      if (attrs.namespace) resourceAttributes.namespace = attrs.namespace;
      const res = await client.json<{ status?: SubjectAccessReviewStatus } | null>(
        'POST',
        '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.user,
            uid: user.uid,
            groups: user.groups,
            extra: user.extra,
            resourceAttributes,
          },
        },
      );
      const s = res?.status ?? {};
      // Like the webhook authorizer: only an allow that is not also a deny is an allow.
      return {
        allowed: s.allowed === true && s.denied !== true,
        reason: s.reason || undefined,
        error:
          s.allowed === true && s.denied === true
            ? 'subject access review returned both allow and deny'
            : undefined,
      };
    },
  };
}
