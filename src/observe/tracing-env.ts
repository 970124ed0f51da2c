/**
 * Whether the environment asks for traces: `OTEL_TRACES_EXPORTER` naming `otlp`, or (unset) an
 * OTLP endpoint configured, and the SDK not disabled.
 */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters)
    return exporters
      .toLowerCase()
      .split(',')
      .some((e) => e.trim() === 'otlp');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}
