import type { TranslationReport } from './report.ts';

/** The annotation that switches KubeGateway's per-cluster feature gates. */
export const FEATURE_GATES_ANNOTATION = 'proxy.kubegateway.io/feature-gates';

/** What the feature gates become: only DenyAllRequests has a kubegate equivalent. */
export interface TranslatedFeatureGates {
  /** DenyAllRequests=true: KubeGateway answers every request of the cluster with 503. */
  forceOpen: boolean;
}

/**
 * Reads `Name=true,Other=false` (the component-base feature-gate syntax). DenyAllRequests is
 * kubegate's manual fuse (`circuitBreaker.forceOpen`, also 503); the others are reported.
 */
export function translateFeatureGates(
  value: string,
  path: string,
  report: TranslationReport,
): TranslatedFeatureGates {
  const out: TranslatedFeatureGates = { forceOpen: false };
  for (const item of value.split(',')) {
    const text = item.trim();
    if (text === '') continue;
    const eq = text.indexOf('=');
    const key = (eq < 0 ? text : text.slice(0, eq)).trim();
    const raw =
      eq < 0
        ? ''
        : text
            .slice(eq + 1)
            .trim()
            .toLowerCase();
    if (raw !== 'true' && raw !== 'false') {
      report.unsupportedAt(
        path,
        `"${text}" is not Name=true or Name=false (KubeGateway rejects it); ignored`,
      );
      continue;
    }
    const on = raw === 'true';
    switch (key) {
      case 'DenyAllRequests':
        out.forceOpen = on;
        break;
      case 'CloseConnectionWhenIdle':
        if (on)
          report.unsupportedAt(
            path,
            'CloseConnectionWhenIdle (answer with Connection: close so clients reconnect elsewhere) has no kubegate equivalent; ignored',
          );
        break;
      case 'GlobalRateLimiter':
        if (on)
          report.unsupportedAt(
            path,
            'GlobalRateLimiter (limits shared across gateway replicas through a rate-limit server) has no kubegate equivalent; limits stay per replica',
          );
        break;
      default:
        report.unsupportedAt(path, `unknown feature gate "${key}"; ignored`);
    }
  }
  return out;
}
