import { Type } from 'typebox';

/** A Kubernetes-style name: lowercase alphanumerics and `-`, at most 63 characters. */
export const Name = Type.String({
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  maxLength: 63,
  description: 'lowercase letters, digits and "-", starting and ending alphanumeric (at most 63)',
});

/** A non-empty string. */
export const Text = Type.String({ minLength: 1 });

/** A list of strings, each non-empty. */
export const TextList = (description: string) => Type.Array(Text, { description });

/** Seconds as a number with bounds (fractions allowed). */
export const Seconds = (description: string, minimum: number, maximum: number) =>
  Type.Number({ minimum, maximum, description });

/** A reference to a Secret; the keys read from it are fixed per use and documented there. */
export const SecretRef = Type.Object(
  {
    namespace: Name,
    name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 }),
  },
  {
    additionalProperties: false,
    description: 'a Secret in the cluster kubegate reads its configuration from',
  },
);
