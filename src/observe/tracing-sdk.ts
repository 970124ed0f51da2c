import type { IncomingHttpHeaders } from 'node:http';
import { readFileSync } from 'node:fs';
import {
  diag,
  DiagConsoleLogger,
  DiagLogLevel,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { diagLogLevelFromString, getNumberFromEnv, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
} from '@opentelemetry/semantic-conventions';
import type { Identity } from '../request/types.ts';
import type { AccessRecord } from './access-log.ts';
import type { RequestTrace, RequestTracer, UpstreamCall } from './tracing.ts';
import { samplerFromEnv } from './tracing-sampler.ts';

// Loaded by tracing.ts only when tracing is on: the one module that touches the OpenTelemetry SDK.

/** `user.name` is still incubating in the semantic conventions, which advise copying such names. */
const ATTR_USER_NAME = 'user.name';
const ATTR_CLUSTER = 'kubegate.cluster';
const ATTR_RULE = 'kubegate.rule';
const ATTR_ENDPOINT = 'kubegate.upstream.endpoint';
const ATTR_CODE = 'kubegate.error.code';

const propagator = new W3CTraceContextPropagator();

/** The tracer provider and exporter as the `OTEL_*` variables configure them. */
export function createRequestTracer(env: NodeJS.ProcessEnv): RequestTracer {
  diag.setLogger(new DiagConsoleLogger(), diagLogLevelFromString(env.OTEL_LOG_LEVEL) ?? DiagLogLevel.WARN);
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (protocol && protocol !== 'http/json')
    diag.warn(
      `kubegate exports traces as OTLP over HTTP with JSON bodies; protocol "${protocol}" is ignored`,
    );
  const version = packageVersion();
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'kubegate', [ATTR_SERVICE_VERSION]: version }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new TracerProvider({
    resource,
    sampler: samplerFromEnv(env),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter(),
        scheduledDelayMillis: getNumberFromEnv('OTEL_BSP_SCHEDULE_DELAY'),
        exportTimeoutMillis: getNumberFromEnv('OTEL_BSP_EXPORT_TIMEOUT'),
        maxQueueSize: getNumberFromEnv('OTEL_BSP_MAX_QUEUE_SIZE'),
        maxExportBatchSize: getNumberFromEnv('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
      }),
    ],
  });
  const tracer = new SdkRequestTracer(provider, version);
  // `kubegate serve` returns after its drain and lets the event loop empty: export what is left then.
  process.once('beforeExit', () => void tracer.shutdown());
  return tracer;
}

function packageVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

class SdkRequestTracer implements RequestTracer {
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  #stopped: Promise<void> | null = null;

  constructor(provider: TracerProvider, version: string) {
    this.#provider = provider;
    this.#tracer = provider.getTracer('kubegate', version);
  }

  start(record: AccessRecord, headers: IncomingHttpHeaders): RequestTrace {
    return new SdkRequestTrace(this.#tracer, record, headers);
  }

  flush(): Promise<void> {
    return this.#provider.forceFlush();
  }

  shutdown(): Promise<void> {
    this.#stopped ??= this.#provider.shutdown();
    return this.#stopped;
  }
}

/** A resource request is named by verb and resource (`list pods`); anything else by its method alone. */
function spanName(r: AccessRecord): string {
  const i = r.info;
  if (!i.isResourceRequest) return r.method;
  return i.subresource ? `${i.verb} ${i.resource}/${i.subresource}` : `${i.verb} ${i.resource}`;
}

class SdkRequestTrace implements RequestTrace {
  readonly tracer: Tracer;
  readonly span: Span;
  /** The context upstream calls are children of. */
  readonly context: Context;
  readonly method: string;
  readonly uri: string;
  #routedAt = 0;
  #call: SdkUpstreamCall | null = null;
  #ended = false;

  constructor(tracer: Tracer, r: AccessRecord, headers: IncomingHttpHeaders) {
    this.tracer = tracer;
    this.method = r.method;
    this.uri = r.uri;
    const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    const i = r.info;
    const q = r.uri.indexOf('?');
    this.span = tracer.startSpan(
      spanName(r),
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: r.method,
          [ATTR_URL_PATH]: i.path,
          [ATTR_URL_QUERY]: q < 0 ? undefined : r.uri.slice(q + 1),
          [ATTR_NETWORK_PROTOCOL_VERSION]: r.protocol === 'h2' ? '2' : '1.1',
          [ATTR_CLIENT_ADDRESS]: r.client,
          [ATTR_CLUSTER]: r.cluster,
          'kubegate.request.verb': i.verb,
          'kubegate.request.api_group': i.isResourceRequest ? i.apiGroup : undefined,
          'kubegate.request.api_version': i.isResourceRequest ? i.apiVersion : undefined,
          'kubegate.request.resource': i.resource || undefined,
          'kubegate.request.subresource': i.subresource || undefined,
          'kubegate.request.name': i.name || undefined,
          [ATTR_K8S_NAMESPACE_NAME]: i.namespace || undefined,
        },
      },
      parent,
    );
    this.context = trace.setSpan(parent, this.span);
  }

  authenticated(identity: Identity): void {
    this.span.addEvent('authenticated', { [ATTR_USER_NAME]: identity.user });
  }

  routed(rule: string): void {
    this.#routedAt = performance.now();
    this.span.addEvent('routed', { [ATTR_RULE]: rule });
  }

  admitted(): void {
    const queuedMs = this.#routedAt === 0 ? 0 : performance.now() - this.#routedAt;
    this.span.addEvent('admitted', { 'kubegate.queued_ms': Math.round(queuedMs * 1000) / 1000 });
  }

  picked(endpoint: string): void {
    this.span.addEvent('picked', { [ATTR_ENDPOINT]: endpoint });
  }

  upstream(endpoint: string, url: URL, headers: Record<string, unknown>): UpstreamCall {
    const call = new SdkUpstreamCall(this, endpoint, url, headers);
    this.#call = call;
    return call;
  }

  end(r: AccessRecord): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#call?.end(r.error);
    const span = this.span;
    if (r.status > 0) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, r.status);
    if (r.identity) span.setAttribute(ATTR_USER_NAME, r.identity.user);
    if (r.rule !== null) span.setAttribute(ATTR_RULE, r.rule);
    if (r.upstream !== null) span.setAttribute(ATTR_ENDPOINT, r.upstream);
    if (r.auditID !== null) span.setAttribute('kubegate.upstream.audit_id', r.auditID);
    if (r.retried) span.setAttribute('kubegate.retried', true);
    if (r.code !== null) {
      span.setAttributes({ [ATTR_CODE]: r.code, [ATTR_ERROR_TYPE]: r.code });
      span.setStatus({ code: SpanStatusCode.ERROR, message: r.error ? `${r.code}: ${r.error}` : r.code });
    } else if (r.status >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(r.status));
      span.setStatus({ code: SpanStatusCode.ERROR, message: r.error ?? undefined });
    } else if (r.error !== null) {
      // A relayed response cut short (upstream reset, shutdown): the status was sent, the body not whole.
      span.setStatus({ code: SpanStatusCode.ERROR, message: r.error });
    }
    span.end();
  }
}

class SdkUpstreamCall implements UpstreamCall {
  readonly #span: Span;
  readonly #server: Span;
  #ended = false;

  constructor(request: SdkRequestTrace, endpoint: string, url: URL, headers: Record<string, unknown>) {
    this.#server = request.span;
    const parent = request.context;
    this.#span = request.tracer.startSpan(
      request.method,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          [ATTR_SERVER_ADDRESS]: url.hostname,
          [ATTR_SERVER_PORT]: Number(url.port) || 443,
          [ATTR_URL_FULL]: `${url.origin}${request.uri}`,
          [ATTR_ENDPOINT]: endpoint,
        },
      },
      parent,
    );
    // The upstream continues the trace from this span, not from the client's.
    delete headers.traceparent;
    delete headers.tracestate;
    propagator.inject(trace.setSpan(parent, this.#span), headers, defaultTextMapSetter);
  }

  response(status: number): void {
    this.#span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (status >= 500) {
      this.#span.setAttribute(ATTR_ERROR_TYPE, String(status));
      this.#span.setStatus({ code: SpanStatusCode.ERROR });
    }
    this.#server.addEvent('response head', { [ATTR_HTTP_RESPONSE_STATUS_CODE]: status });
  }

  end(error: string | null): void {
    if (this.#ended) return;
    this.#ended = true;
    if (error !== null) this.#span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.#span.end();
  }
}
