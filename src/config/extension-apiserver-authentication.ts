import { isFrontProxyHeader } from '../auth/index.ts';
import { KubeClient } from '../kube/client.ts';
import type { ClusterMaterial, RequestHeaderSettings } from './model.ts';
import { checkCABundle } from './tls-material.ts';

/** Where kube-apiserver publishes its --requestheader-* settings for aggregated API servers. */
export const EXTENSION_APISERVER_AUTHENTICATION =
  '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';

const WHERE = 'ConfigMap kube-system/extension-apiserver-authentication';

/**
 * The front-proxy settings a cluster publishes, read from its first endpoint that answers, with
 * kubegate's own credential for the cluster (`material`). Throws an Error that says what is wrong
 * (unreachable, forbidden, no requestheader CA, a header kubegate does not strip).
 */
export async function readRequestHeaderSettings(
  endpoints: readonly { readonly url: string }[],
  material: ClusterMaterial,
): Promise<RequestHeaderSettings> {
  const failures: string[] = [];
  for (const e of endpoints) {
    const client = new KubeClient({
      server: e.url,
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      token: material.token,
    });
    try {
      const r = await client.raw<{ data?: Record<string, string>; message?: string }>(
        'GET',
        EXTENSION_APISERVER_AUTHENTICATION,
        undefined,
        10_000,
      );
      // An answer of the cluster itself (not found, forbidden) is the same at every endpoint.
      if (r.status !== 200) throw new Error(`${WHERE}: ${r.status} ${r.body.message ?? ''}`.trim());
      return parseRequestHeaderSettings(r.body.data ?? {});
    } catch (err) {
      const message = (err as Error).message;
      if (message.startsWith(WHERE)) throw err;
      failures.push(`${e.url}: ${message}`);
    } finally {
      client.close();
    }
  }
  throw new Error(`${WHERE}: no endpoint answered (${failures.join('; ')})`);
}

/** The ConfigMap's data as settings; throws when it cannot be used as it is. */
export function parseRequestHeaderSettings(data: Readonly<Record<string, string>>): RequestHeaderSettings {
  const ca = data['requestheader-client-ca-file'];
  if (!ca)
    throw new Error(
      `${WHERE} has no requestheader-client-ca-file: the cluster's apiserver runs without --requestheader-client-ca-file`,
    );
  const bad = checkCABundle(ca);
  if (bad) throw new Error(`${WHERE}: requestheader-client-ca-file: ${bad}`);
  const headers = (key: string, ok: (h: string) => boolean, what: string) => {
    const list = stringList(data, key);
    for (const h of list ?? [])
      if (!ok(h))
        throw new Error(
          `${WHERE}: ${key}: "${h}" is not ${what}, which kubegate strips from forwarded requests; set frontProxy's header fields explicitly`,
        );
    return list?.length ? list : undefined;
  };
  const plain = 'one of X-Remote-User, X-Remote-Uid, X-Remote-Group, X-Remote-Extra-*';
  return {
    ca,
    allowedNames: stringList(data, 'requestheader-allowed-names'),
    usernameHeaders: headers('requestheader-username-headers', isFrontProxyHeader, plain),
    uidHeaders: headers('requestheader-uid-headers', isFrontProxyHeader, plain),
    groupHeaders: headers('requestheader-group-headers', isFrontProxyHeader, plain),
    extraHeaderPrefixes: headers(
      'requestheader-extra-headers-prefix',
      (h) => h.toLowerCase().startsWith('x-remote-extra-'),
      'a prefix starting with X-Remote-Extra-',
    ),
  };
}

/** A key holding a JSON list of strings, as kube-apiserver writes them; undefined when absent. */
function stringList(data: Readonly<Record<string, string>>, key: string): string[] | undefined {
  const raw = data[key];
  if (raw === undefined || raw === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new Error(`${WHERE}: ${key} is not a JSON list of strings`);
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new Error(`${WHERE}: ${key} is not a JSON list of strings`);
  return v;
}
