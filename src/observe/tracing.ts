import type { IncomingHttpHeaders } from 'node:http';
import type { Identity } from '../request/types.ts';
import type { AccessRecord } from './access-log.ts';
import { tracingRequested } from './tracing-env.ts';

export { tracingRequested };

/**
 * OpenTelemetry tracing, off unless the standard `OTEL_*` variables ask for it (see docs/tracing.md).
 * This module imports no OpenTelemetry code: the SDK (`tracing-sdk.ts`) is loaded with a dynamic
 * import only when tracing is on, so a gateway without tracing pays one `null` check per hook.
 */

/** Starts one SERVER span per client request. */
export interface RequestTracer {
  /** The request's span, a child of the client's `traceparent` if it sent a valid one. */
  start(record: AccessRecord, headers: IncomingHttpHeaders): RequestTrace;
  /** Exports every ended span still buffered; resolves when the export is done or failed. */
  flush(): Promise<void>;
  /** Flushes, then stops exporting. */
  shutdown(): Promise<void>;
}

/** The SERVER span of one request; the pipeline stages are its events. */
export interface RequestTrace {
  authenticated(identity: Identity): void;
  routed(rule: string): void;
  /** Past the limits; the time since `routed` is the time spent queued for an in-flight slot. */
  admitted(): void;
  picked(endpoint: string): void;
  /**
   * Starts the CLIENT span of one upstream attempt and writes its context into the upstream
   * request's headers, in place of the client's `traceparent` and `tracestate`.
   */
  upstream(endpoint: string, url: URL, headers: Record<string, unknown>): UpstreamCall;
  /** Ends the span (and an upstream call still open) with the final access record. */
  end(record: AccessRecord): void;
}

/** The CLIENT span of one upstream attempt. */
export interface UpstreamCall {
  /** The upstream's response head (or its 101) arrived. */
  response(status: number): void;
  /** Ends the span: `error` is null for a clean end. Later calls do nothing. */
  end(error: string | null): void;
}

async function startTracer(env: NodeJS.ProcessEnv): Promise<RequestTracer> {
  const { createRequestTracer } = await import('./tracing-sdk.ts');
  return createRequestTracer(env);
}

/**
 * The gateway's tracer, or null when tracing is off. Read from the environment once, when this
 * module is first imported; the SDK is ready before any module that imports this one runs.
 */
export const tracer: RequestTracer | null = tracingRequested(process.env)
  ? await startTracer(process.env)
  : null;

/** Exports the spans still buffered and stops the exporter (also done on the process's `beforeExit`). */
export async function shutdownTracing(): Promise<void> {
  await tracer?.shutdown();
}
