import { createHash } from 'node:crypto';
import type { ClusterRuntime } from '../cluster/runtime.ts';
import { GatewayError } from '../errors.ts';
import type { AccessRecord } from '../observe/access-log.ts';
import type { ClientExchange } from '../proxy/exchange.ts';
import { sendStatus } from '../proxy/status.ts';
import { API_GROUP, API_GROUP_LIST, API_RESOURCE_LIST, clusterGatewayObject, listObject } from './objects.ts';
import { GROUP, RESOURCE, VERSION } from './path.ts';

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
  if (info.verb === 'get') {
    const c = byName().get(info.name);
    if (!c)
      return fail(
        new GatewayError('KG_NOT_FOUND', 'NotFound', `${RESOURCE}.${GROUP} "${info.name}" not found`),
      );
    return send(200, clusterGatewayObject(c));
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
    return send(
      200,
      listObject(
        [...set.values()].map((s) => JSON.parse(s) as object),
        remember(set),
      ),
    );
  }
  const q = record.uri.indexOf('?');
  const rv = q < 0 ? null : new URLSearchParams(record.uri.slice(q + 1)).get('resourceVersion');
  watch(current, rv === null ? undefined : recent.get(rv), x, record);
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
 * list gave the watch's resourceVersion), then ADDED, MODIFIED (health) and DELETED as it changes.
 * cluster-gateway has no watch; the set is small, so a poll of it is cheap.
 */
function watch(
  current: () => Map<string, string>,
  from: Map<string, string> | undefined,
  x: ClientExchange,
  record: AccessRecord,
): void {
  record.status = 200;
  x.respond(200, { ...JSON_HEADERS, 'transfer-encoding': undefined }, true);
  let seen = new Map<string, string>(from);
  const tick = () => {
    const now = current();
    let out = '';
    for (const [name, obj] of now) {
      const before = seen.get(name);
      if (before === undefined) out += `{"type":"ADDED","object":${obj}}\n`;
      else if (before !== obj) out += `{"type":"MODIFIED","object":${obj}}\n`;
    }
    for (const [name, obj] of seen) if (!now.has(name)) out += `{"type":"DELETED","object":${obj}}\n`;
    seen = now;
    if (out) x.write(Buffer.from(out));
  };
  tick();
  const timer = setInterval(tick, WATCH_POLL_MS);
  x.onClose(() => clearInterval(timer));
}

const HEALTH = new Set(['/healthz', '/readyz', '/livez']);

/**
 * What kubegate answers an aggregating apiserver (a front proxy) outside `/apis/cluster.core.oam.dev`:
 * `/apis` as a legacy APIGroupList of the one group, and 406 to the aggregated-discovery media type,
 * which makes the aggregator fall back to the group's APIResourceList; 404 to `/openapi/v2` and
 * `/openapi/v3`, which it takes as "no spec" (not as unavailable); 200 to health probes; 404
 * otherwise. Nothing goes to the listener's own cluster on the front proxy's behalf.
 */
export function serveFrontProxyDiscovery(x: ClientExchange, record: AccessRecord): void {
  const path = record.info.path;
  const method = record.method;
  const answer = (status: number, type: string, text: string) => {
    record.status = status;
    x.respond(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) }, false);
    x.end(method === 'HEAD' ? '' : text);
  };
  if ((method === 'GET' || method === 'HEAD') && HEALTH.has(path)) return answer(200, 'text/plain', 'ok');
  if ((method === 'GET' || method === 'HEAD') && (path === '/apis' || path === '/apis/')) {
    // The aggregator lists application/json after the aggregated type as a fallback, but would
    // parse a plain answer as an APIGroupDiscoveryList: a 406 is what makes it use legacy discovery.
    if (String(x.headers.accept ?? '').includes('as=APIGroupDiscoveryList')) {
      record.status = 406;
      record.code = 'KG_NOT_ACCEPTABLE';
      return sendStatus(
        x,
        new GatewayError('KG_NOT_ACCEPTABLE', 'NotAcceptable', 'kubegate serves legacy discovery only'),
      );
    }
    return answer(200, 'application/json', JSON.stringify(API_GROUP_LIST));
  }
  record.status = 404;
  record.code = 'KG_NOT_FOUND';
  sendStatus(
    x,
    new GatewayError(
      'KG_NOT_FOUND',
      'NotFound',
      `kubegate serves only /apis/${GROUP}/${VERSION} to a front proxy, not ${path}`,
    ),
  );
}
