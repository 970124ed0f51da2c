import { diag } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace';

// Loaded only with the SDK (tracing-sdk.ts). The SDK no longer reads the environment itself.

/**
 * The sampler `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG` for the ratio samplers) names;
 * unset or unknown: `parentbased_always_on`, so a client's sampling decision is kept.
 */
export function samplerFromEnv(env: NodeJS.ProcessEnv): Sampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_always_on';
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio(env.OTEL_TRACES_SAMPLER_ARG));
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({
        root: new TraceIdRatioBasedSampler(ratio(env.OTEL_TRACES_SAMPLER_ARG)),
      });
    default:
      diag.warn(`OTEL_TRACES_SAMPLER="${name}" is not supported by kubegate; using parentbased_always_on`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** `OTEL_TRACES_SAMPLER_ARG` as a ratio in [0, 1]; 1 when unset or invalid (as the specification says). */
function ratio(arg: string | undefined): number {
  if (arg === undefined || arg.trim() === '') return 1;
  const r = Number(arg);
  if (Number.isFinite(r) && r >= 0 && r <= 1) return r;
  diag.warn(`OTEL_TRACES_SAMPLER_ARG="${arg}" is not a ratio between 0 and 1; using 1`);
  return 1;
}
