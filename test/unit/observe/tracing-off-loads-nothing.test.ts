import assert from 'node:assert/strict';
import { createRequire, registerHooks } from 'node:module';
import { after, before, test } from 'node:test';
import { tracingRequested } from '../../../src/observe/tracing-env.ts';
import { startGateway, type TestGateway } from './tracing-gateway.ts';

// Tracing off (the default): the gateway loads no OpenTelemetry module at all, and a client's
// trace context reaches the apiserver exactly as sent.

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACESTATE = 'rojo=00f067aa0ba902b7';

/** Every module specifier resolved from here on, ESM and CommonJS alike. */
const resolved: string[] = [];
registerHooks({
  resolve(specifier, context, next) {
    resolved.push(specifier);
    return next(specifier, context);
  },
});

let gw: TestGateway;

before(async () => {
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
  gw = await startGateway();
});

after(async () => {
  await gw?.stop();
});

test('the OTEL_* variables that turn tracing on, and those that keep it off', () => {
  assert.equal(tracingRequested({}), false, 'off by default');
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }), true);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' }), true);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'console, otlp' }), true);
  assert.equal(
    tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }),
    false,
    'an exporter list without otlp wins over an endpoint',
  );
  assert.equal(
    tracingRequested({ OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp' }),
    false,
    'OTEL_SDK_DISABLED wins',
  );
  assert.equal(tracingRequested({ OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' }), true);
});

test('with tracing off no OpenTelemetry module is loaded and traceparent passes through unchanged', async () => {
  const path = '/api/v1/namespaces/default/configmaps?tracing=off';
  assert.equal(await gw.get(path, { traceparent: TRACEPARENT, tracestate: TRACESTATE }), 200);
  const arrived = gw.arrivals.filter((a) => a.path === path);
  assert.equal(arrived.length, 1);
  assert.equal(arrived[0].headers.traceparent, TRACEPARENT);
  assert.equal(arrived[0].headers.tracestate, TRACESTATE);

  const { tracer } = await import('../../../src/observe/tracing.ts');
  assert.equal(tracer, null);
  assert.ok(
    resolved.some((s) => s.endsWith('/gateway.ts')),
    'the hook saw the gateway load',
  );
  // prom-client (metrics) requires @opentelemetry/api, the no-op API, for exemplars; the SDK, the
  // exporter and kubegate's tracing implementation are what tracing adds, and none of them loads.
  const sdk = (s: string) =>
    (s.includes('@opentelemetry/') && !s.includes('@opentelemetry/api')) || s.includes('tracing-sdk');
  assert.deepEqual(resolved.filter(sdk), []);
  assert.deepEqual(Object.keys(createRequire(import.meta.url).cache).filter(sdk), []);
});
