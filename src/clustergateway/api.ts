import { createHash } from 'node:crypto';
import type { ClusterRuntime } from '../cluster/runtime.ts';
import { GatewayError } from '../errors.ts';
import type { AccessRecord } from '../observe/access-log.ts';
import type { ClientExchange } from '../proxy/exchange.ts';
import { sendStatus } from '../proxy/status.ts';
import { aggregatedDiscovery } from './discovery.ts';
import { API_GROUP, API_GROUP_LIST, API_RESOURCE_LIST, clusterGatewayObject, listObject } from './objects.ts';
import { OPENAPI_V3_DOCUMENT, OPENAPI_V3_HASH, OPENAPI_V3_INDEX, OPENAPI_V3_KEY } from './openapi.ts';
import { GROUP, RESOURCE, VERSION } from './path.ts';
import { clusterGatewayTable, includeObjectOf, wantsTable } from './table.ts';

const WATCH_POLL_MS = 200;
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-cache, private' };

/** The registered clusters, read per request (the live set of the gateway). */
export type RegisteredClusters = () => readonly ClusterRuntime[];

/**
 * kubegate's own answers under `/apis/cluster.core.oam.dev`: discovery, list, get, watch and the
 * `health` subresource. The caller is already authenticated.
 */
export function serveClusterGatewayAPI(
  clusters: RegisteredClusters,
  x: ClientExchange,
  record: AccessRecord,
): void {
  const info = record.info;
  const send = (status: number, body: object) => {
    record.status = status;
    const text = JSON.stringify(body);
    x.respond(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(text) }, false);
    x.end(text);
  };
  const fail = (err: GatewayError) => {
    record.status = err.status;
    record.code = err.code;
    record.error = err.message;
    sendStatus(x, err);
  };
  if (info.path === `/apis/${GROUP}` || info.path === `/apis/${GROUP}/`) return send(200, API_GROUP);
  if (info.path === `/apis/${GROUP}/${VERSION}` || info.path === `/apis/${GROUP}/${VERSION}/`)
    return send(200, API_RESOURCE_LIST);
  if (info.resource !== RESOURCE || info.apiVersion !== VERSION || info.namespace !== '')
    return fail(
      new GatewayError('KG_NOT_FOUND', 'NotFound', `the server could not find the requested resource`),
    );
  const readOnly = info.verb === 'get' || info.verb === 'list' || info.verb === 'watch';
  if (!readOnly || (info.subresource !== '' && info.subresource !== 'health'))
    return fail(
      new GatewayError(
        'KG_METHOD_NOT_ALLOWED',
        'MethodNotAllowed',
        `${info.verb} is not supported on ${RESOURCE}${info.subresource ? '/' + info.subresource : ''}: clusters are registered by Secrets`,
      ),
    );
  const byName = () => new Map(clusters().map((c) => [c.name, c]));
  const q = record.uri.indexOf('?');
  const query = new URLSearchParams(q < 0 ? '' : record.uri.slice(q + 1));
  const table = wantsTable(x.headers.accept);
  if (info.verb === 'get') {
    const c = byName().get(info.name);
    if (!c)
      return fail(
        new GatewayError('KG_NOT_FOUND', 'NotFound', `${RESOURCE}.${GROUP} "${info.name}" not found`),
      );
    const o = clusterGatewayObject(c);
    return send(200, table ? clusterGatewayTable([o], includeObjectOf(query)) : o);
  }
  const only = info.name; // fieldSelector=metadata.name=…
  const current = () =>
    new Map(
      clusters()
        .filter((c) => only === '' || c.name === only)
        .map((c) => [c.name, JSON.stringify(clusterGatewayObject(c))]),
    );
  if (info.verb === 'list') {
    const set = current();
    const items = [...set.values()].map((s) => JSON.parse(s) as object);
    const rv = remember(set);
    return send(200, table ? clusterGatewayTable(items, includeObjectOf(query), rv) : listObject(items, rv));
  }
  const rv = query.get('resourceVersion');
  const asTable = table
    ? (obj: string) =>
        JSON.stringify(clusterGatewayTable([JSON.parse(obj) as object], includeObjectOf(query)))
    : null;
  watch(current, rv === null ? undefined : recent.get(rv), asTable, x, record);
}

/**
 * The cluster sets lists answered lately, by the resourceVersion they were given (a digest of the
 * set), so that a watch from that version (list-then-watch: `kubectl get -w`, informers) sends
 * only what changed since, DELETED included, instead of everything again.
 */
const recent = new Map<string, Map<string, string>>();
const RECENT = 64;

function remember(set: Map<string, string>): string {
  const h = createHash('sha256');
  for (const name of [...set.keys()].sort()) h.update(name).update('\0').update(set.get(name)!).update('\0');
  const rv = h.digest('hex').slice(0, 16);
  recent.delete(rv);
  recent.set(rv, set);
  if (recent.size > RECENT) recent.delete(recent.keys().next().value!);
  return rv;
}

/**
 * A watch over the live cluster set: ADDED for what exists (or the changes since `from`, the set a
 * list gave the watch's resourceVersion), then ADDED, MODIFIED (health) and DELETED as it changes;
 * each object a one-row Table when the client asked for Tables (`kubectl get -w`).
 * cluster-gateway has no watch; the set is small, so a poll of it is cheap.
 */
function watch(
  current: () => Map<string, string>,
  from: Map<string, string> | undefined,
  asTable: ((obj: string) => string) | null,
  x: ClientExchange,
  record: AccessRecord,
): void {
  record.status = 200;
  x.respond(200, { ...JSON_HEADERS, 'transfer-encoding': undefined }, true);
  let seen = new Map<string, string>(from);
  const tick = () => {
    const now = current();
    let out = '';
    const event = (type: string, obj: string) =>
      `{"type":"${type}","object":${asTable === null ? obj : asTable(obj)}}\n`;
    for (const [name, obj] of now) {
      const before = seen.get(name);
      if (before === undefined) out += event('ADDED', obj);
      else if (before !== obj) out += event('MODIFIED', obj);
    }
    for (const [name, obj] of seen) if (!now.has(name)) out += event('DELETED', obj);
    seen = now;
    if (out) x.write(Buffer.from(out));
  };
  tick();
  const timer = setInterval(tick, WATCH_POLL_MS);
  x.onClose(() => clearInterval(timer));
}

const HEALTH = new Set(['/healthz', '/readyz', '/livez']);
const OPENAPI_V3 = `/openapi/v3/${OPENAPI_V3_KEY}`;

/**
 * What kubegate answers an aggregating apiserver (a front proxy) outside `/apis/cluster.core.oam.dev`:
 * `/apis` as aggregated discovery when asked for it, else as a legacy APIGroupList of the one
 * group; `/openapi/v3` and the group version's document (the aggregator merges them into the hub's,
 * for `kubectl explain`); 404 to `/openapi/v2`, which it takes as "no spec" (not as unavailable);
 * 200 to health probes; 404 otherwise. Nothing goes to the listener's own cluster on the front
 * proxy's behalf.
 */
export function serveFrontProxyDiscovery(x: ClientExchange, record: AccessRecord): void {
  const path = record.info.path;
  const method = record.method;
  const answer = (status: number, headers: Record<string, string>, text: string) => {
    record.status = status;
    x.respond(status, { ...headers, 'content-length': Buffer.byteLength(text) }, false);
    x.end(method === 'HEAD' ? '' : text);
  };
  const json = { 'content-type': 'application/json' };
  const read = method === 'GET' || method === 'HEAD';
  if (read && HEALTH.has(path)) return answer(200, { 'content-type': 'text/plain' }, 'ok');
  if (read && (path === '/apis' || path === '/apis/')) {
    const aggregated = aggregatedDiscovery(String(x.headers.accept ?? ''));
    if (aggregated !== null) return answer(200, { 'content-type': aggregated.type }, aggregated.body);
    return answer(200, json, JSON.stringify(API_GROUP_LIST));
  }
  if (read && path === '/openapi/v3') return answer(200, json, OPENAPI_V3_INDEX);
  if (read && path === OPENAPI_V3) {
    // As kube-apiserver: the hash in the URL makes the answer immutable; the ETag is the hash.
    const q = record.uri.indexOf('?');
    const hash = q < 0 ? null : new URLSearchParams(record.uri.slice(q + 1)).get('hash');
    const cache = hash === OPENAPI_V3_HASH ? 'public, immutable' : 'no-cache, private';
    return answer(
      200,
      { ...json, etag: `"${OPENAPI_V3_HASH}"`, 'cache-control': cache },
      OPENAPI_V3_DOCUMENT,
    );
  }
  record.status = 404;
  record.code = 'KG_NOT_FOUND';
  sendStatus(
    x,
    new GatewayError(
      'KG_NOT_FOUND',
      'NotFound',
      `kubegate serves only /apis/${GROUP}/${VERSION}, its discovery and OpenAPI to a front proxy, not ${path}`,
    ),
  );
}
