import { Type, type Static } from 'typebox';
import { Name, Text } from './common.ts';
import { Limits } from './limits.ts';
import { Match, matchSchema } from './match.ts';

/** What a rule does with the requests it matches. */
export const Deny = Type.Object(
  {
    code: Type.Optional(
      Type.Integer({ minimum: 400, maximum: 599, description: 'HTTP status (default 403)' }),
    ),
    message: Type.Optional(Text),
    retryAfterSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
  },
  { additionalProperties: false, description: 'the Status answered when action is deny' },
);

const ruleFields = {
  action: Type.Optional(
    Type.Union([Type.Literal('proxy'), Type.Literal('deny')], { description: 'proxy (default) or deny' }),
  ),
  deny: Type.Optional(Deny),
  upstream: Type.Optional(
    Type.Array(Name, { minItems: 1, description: 'endpoint names this rule may use (default: all)' }),
  ),
  limits: Type.Optional(Limits),
  exempt: Type.Optional(
    Type.Boolean({ description: 'skip limits and the circuit breaker (health probes, system:masters)' }),
  ),
  share: Type.Optional(
    Type.Union([Type.Literal('watches'), Type.Literal('watches+lists')], {
      description:
        'watches: identical JSON or protobuf watches of this rule share one upstream watch per worker, each client authorized by a cached SubjectAccessReview; watches+lists: also JSON lists with resourceVersion=0 answered from a watch cache per collection (docs/shared-watches.md); default: not shared',
    }),
  ),
};

/** A routing rule. The first rule that matches a request decides what happens to it. */
export const Rule = Type.Object(
  {
    name: Name,
    match: Type.Optional(Match),
    exclude: Type.Optional(
      matchSchema(
        'the rule does not apply to a request that matches any one field given here ("none of these")',
      ),
    ),
    ...ruleFields,
  },
  { additionalProperties: false },
);
export type Rule = Static<typeof Rule>;

/** What a request that matches no rule gets. */
export const DefaultRule = Type.Object(ruleFields, { additionalProperties: false });
export type DefaultRule = Static<typeof DefaultRule>;
