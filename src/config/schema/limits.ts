import { Type, type Static } from 'typebox';

/** Flow control of one rule. Absent fields mean "no limit of that kind". */
export const Limits = Type.Object(
  {
    qps: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1e6,
        description: 'token bucket refill rate (requests per second)',
      }),
    ),
    burst: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1e6,
        description: 'token bucket size; default: max(1, ceil(qps))',
      }),
    ),
    maxInflightReadOnly: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1e6,
        description: 'short get/list (and non-resource GET) requests in flight at once',
      }),
    ),
    maxInflightMutating: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1e6, description: 'short mutating requests in flight at once' }),
    ),
    maxLongRunning: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1e7,
        description:
          'watches, logs -f, exec, attach, port-forward and proxy open at once; they never hold a short-request slot',
      }),
    ),
    queue: Type.Optional(
      Type.Object(
        {
          length: Type.Integer({
            minimum: 0,
            maximum: 100000,
            description: 'requests that may wait for an in-flight slot; 0 = reject at once',
          }),
          timeoutSeconds: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 60,
              description: 'how long a request may wait before it is rejected (default 5)',
            }),
          ),
          waitForRate: Type.Optional(
            Type.Boolean({
              description:
                'requests over qps wait for their token (traffic shaping, like nginx limit_req with a burst queue) instead of getting 429 at once: at most length of them, each at most timeoutSeconds (default false)',
            }),
          ),
        },
        { additionalProperties: false, description: 'bounded FIFO queue in front of the in-flight limits' },
      ),
    ),
    perUser: Type.Optional(
      Type.Object(
        {
          key: Type.Optional(
            Type.Union([Type.Literal('user'), Type.Literal('serviceAccount')], {
              description:
                'what gets its own bucket: each user (default), or each service account while all other users share one',
            }),
          ),
          maxKeys: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 1000000,
              description: 'least recently seen keys are forgotten beyond this (default 10000)',
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'apply qps/burst to each user separately instead of to the rule as a whole',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Limits = Static<typeof Limits>;
