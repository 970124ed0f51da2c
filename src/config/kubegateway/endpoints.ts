import { endpointLabel, uniqueLabel } from './names.ts';
import { booleanAt, index, listAt, objectAt, reportUnknownKeys, stringAt } from './read.ts';
import type { TranslationReport } from './report.ts';

/** `spec.servers` in kubegate's terms. */
export interface TranslatedServers {
  /** kubegate endpoints, in the order of `spec.servers`. */
  endpoints: { name: string; url: string }[];
  /** KubeGateway endpoint string (as written) → kubegate endpoint name. */
  names: Map<string, string>;
  /** Endpoint strings of servers left out, and why (a subset naming one loses it). */
  leftOut: Map<string, string>;
}

/**
 * Translates `spec.servers`. KubeGateway keys servers by the exact endpoint string and never picks a
 * disabled one, so leaving a disabled server out routes exactly as before.
 */
export function translateServers(value: unknown, path: string, report: TranslationReport): TranslatedServers {
  const out: TranslatedServers = { endpoints: [], names: new Map(), leftOut: new Map() };
  const taken = new Set<string>();
  (listAt(value, path, report) ?? []).forEach((raw, i) => {
    const at = index(path, i);
    const server = objectAt(raw, at, report);
    if (server === undefined) return;
    reportUnknownKeys(server, ['endpoint', 'disabled'], at, report);
    const endpoint = stringAt(server.endpoint, `${at}.endpoint`, report);
    const disabled = booleanAt(server.disabled, `${at}.disabled`, report) ?? false;
    if (endpoint === undefined || endpoint === '') {
      report.unsupportedAt(`${at}.endpoint`, 'no endpoint URL; server left out');
      return;
    }
    if (out.names.has(endpoint) || out.leftOut.has(endpoint)) {
      report.noteAt(
        `${at}.endpoint`,
        `"${endpoint}" is listed twice; KubeGateway keeps one, and so does kubegate`,
      );
      return;
    }
    if (disabled) {
      out.leftOut.set(endpoint, 'disabled');
      report.noteAt(
        `${at}.disabled`,
        `server "${endpoint}" is disabled: KubeGateway never sends it requests, so it is left out of endpoints (add it back when it is enabled)`,
      );
      return;
    }
    const url = parseEndpoint(endpoint, `${at}.endpoint`, report);
    if (url === undefined) {
      out.leftOut.set(endpoint, 'not usable');
      return;
    }
    const name = uniqueLabel(endpointLabel(url, i), taken);
    out.names.set(endpoint, name);
    out.endpoints.push({ name, url: `https://${url.host}` });
  });
  if (out.endpoints.length === 0)
    report.unsupportedAt(
      path,
      'no usable server: kubegate needs at least one https endpoint; spec.endpoints is empty',
    );
  return out;
}

function parseEndpoint(endpoint: string, at: string, report: TranslationReport): URL | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    report.unsupportedAt(at, `"${endpoint}" is not a URL; server left out`);
    return undefined;
  }
  if (url.protocol === 'http:') {
    report.unsupportedAt(
      at,
      `"${endpoint}" is plain HTTP; kubegate reaches apiservers over TLS only (verified with upstreamCA); server left out`,
    );
    return undefined;
  }
  if (url.protocol !== 'https:') {
    report.unsupportedAt(at, `"${endpoint}" is not an https:// URL; server left out`);
    return undefined;
  }
  if (url.username !== '' || url.password !== '') {
    report.unsupportedAt(
      at,
      `"${endpoint}" carries user info, which kubegate does not send; dropped from the URL`,
    );
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    report.noteAt(
      at,
      `"${endpoint}": KubeGateway forwards requests to the scheme and host only, so kubegate uses https://${url.host}`,
    );
  }
  return url;
}
