import type { RequestInfo } from './types.ts';

// Port of k8s.io/apiserver RequestInfoFactory.NewRequestInfo (v1.37) with APIPrefixes {api, apis} and
// GrouplessAPIPrefixes {api}, fed the path and query the way Go's net/http and net/url decode them.

const NO_PARTS: readonly string[] = Object.freeze([]);
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const INT64 = /^[+-]?0*(\d{1,19})$/;
type ListKey = 'watch' | 'fieldSelector' | 'labelSelector' | 'limit' | 'timeoutSeconds';
const LIST_KEYS = new Set<ListKey>(['watch', 'fieldSelector', 'labelSelector', 'limit', 'timeoutSeconds']);
const EXACT_OPS = new Set(['=', '==', '!=', '<', '>']);
const LABEL_NAME = /^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

export function parseRequestInfo(method: string, url: string): RequestInfo {
  // Go's server turns an authority-form CONNECT target into "http://" + target.
  const target = method === 'CONNECT' && url[0] !== '/' ? 'http://' + url : url;
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const path = requestPath(target, rawPath);
  const info: RequestInfo = {
    isResourceRequest: false,
    path: path ?? rawPath,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    parts: NO_PARTS,
  };
  // undefined: Go answers 400 before any handler runs; report a plain non-resource request.
  if (path === undefined) return info;
  let from = 0;
  let to = path.length;
  while (from < to && path[from] === '/') from++;
  while (to > from && path[to - 1] === '/') to--;
  const trimmed = path.slice(from, to);
  if (!trimmed.startsWith('api/') && !trimmed.startsWith('apis/')) return info;
  const segs = trimmed.split('/');
  if (segs.length < 3) return info;
  const groupless = segs[0] === 'api';
  // Go sets apiPrefix before finding /apis/{group}/{version} too short, so that non-resource info keeps it.
  info.apiPrefix = segs[0];
  if (!groupless) {
    if (segs.length < 4) return info;
    info.apiGroup = segs[1];
  }
  let i = groupless ? 1 : 2;
  info.isResourceRequest = true;
  info.apiVersion = segs[i++];

  if (segs[i] === 'watch' || segs[i] === 'proxy') {
    // Nothing after /watch or /proxy: Go returns the info so far (verb = lowercase method) with an error,
    // and kube-apiserver answers 500.
    if (segs.length - i < 2) return info;
    info.verb = segs[i++];
  } else {
    info.verb = httpVerb(method);
  }
  if (segs[i] === 'namespaces' && segs.length - i > 1) {
    info.namespace = segs[i + 1];
    const sub = segs[i + 2];
    if (sub !== undefined && sub !== 'status' && sub !== 'finalize') i += 2;
  }
  const parts = segs.slice(i);
  info.parts = parts;
  if (parts.length >= 3 && info.verb !== 'proxy') info.subresource = parts[2];
  if (parts.length >= 2) info.name = parts[1];
  info.resource = parts[0];

  if (info.name === '' && info.verb === 'get') listOrWatch(info, q < 0 ? '' : target.slice(q + 1));
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}

/** kube-apiserver's BasicLongRunningRequestCheck({watch, proxy}, {attach, exec, proxy, log, portforward}). */
export function isLongRunning(info: RequestInfo): boolean {
  if (info.verb === 'watch' || info.verb === 'proxy') return true;
  if (!info.isResourceRequest) return info.path.startsWith('/debug/pprof/');
  const s = info.subresource;
  return s === 'attach' || s === 'exec' || s === 'proxy' || s === 'log' || s === 'portforward';
}

/** get/list/watch, or a non-resource GET/HEAD. Note that exec/attach over a GET upgrade count as "get". */
export function isReadOnly(info: RequestInfo): boolean {
  const v = info.verb;
  return info.isResourceRequest ? v === 'get' || v === 'list' || v === 'watch' : v === 'get' || v === 'head';
}

function httpVerb(method: string): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

/** url.ParseRequestURI(target).Path, or undefined where Go rejects the target. */
function requestPath(target: string, rawPath: string): string | undefined {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return undefined;
  }
  if (target === '*') return target;
  let p = rawPath;
  if (p[0] !== '/') {
    if (!SCHEME.test(p)) return undefined;
    p = p.slice(p.indexOf(':') + 1);
    // Absolute form: the authority is skipped (Go would also validate it); a rootless rest is opaque.
    if (p.startsWith('//')) {
      const slash = p.indexOf('/', 2);
      p = slash < 0 ? '' : p.slice(slash);
    } else if (p[0] !== '/') return '';
  }
  return unescape(p, false);
}

/** Go's url unescape: undefined on a bad %-escape; invalid UTF-8 becomes U+FFFD. */
function unescape(s: string, query: boolean): string | undefined {
  let i = s.indexOf('%');
  const plus = query && s.includes('+');
  if (i < 0 && !plus) return s;
  for (; i >= 0; i = s.indexOf('%', i + 3)) {
    if (hex(s.charCodeAt(i + 1)) < 0 || hex(s.charCodeAt(i + 2)) < 0) return undefined;
  }
  if (plus) s = s.replaceAll('+', ' ');
  try {
    return decodeURIComponent(s);
  } catch {
    // Invalid UTF-8 (or a lone surrogate): decode the bytes ourselves, with U+FFFD for what does not decode.
    const src = ENCODER.encode(s);
    const out = new Uint8Array(src.length);
    let n = 0;
    for (let j = 0; j < src.length; j++) {
      out[n++] = src[j] === 37 ? (hex(src[++j]) << 4) | hex(src[++j]) : src[j];
    }
    return DECODER.decode(out.subarray(0, n));
  }
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  return (c | 32) >= 97 && (c | 32) <= 102 ? (c | 32) - 87 : -1;
}

/** The ListOptions decoding kube-apiserver does on a nameless get: list vs watch, and the name a field selector pins. */
function listOrWatch(info: RequestInfo, query: string): void {
  const v: { [K in ListKey]?: string } = {};
  // url.ParseQuery refuses more than 10000 parameters outright.
  if (query.length < 10000 || query.split('&', 10001).length <= 10000) {
    for (let start = 0; start < query.length;) {
      let end = query.indexOf('&', start);
      if (end < 0) end = query.length;
      const pair = query.slice(start, end);
      start = end + 1;
      if (pair === '' || pair.includes(';')) continue;
      const eq = pair.indexOf('=');
      const k = unescape(eq < 0 ? pair : pair.slice(0, eq), true) as ListKey;
      if (!LIST_KEYS.has(k)) continue;
      // Only the first value counts; a pair whose value does not unescape is dropped altogether.
      if (v[k] === undefined) v[k] = unescape(eq < 0 ? '' : pair.slice(eq + 1), true);
    }
  }
  const { watch, fieldSelector, labelSelector, limit, timeoutSeconds } = v;
  const name = fieldSelector === undefined ? '' : fieldSelectorName(fieldSelector);
  const ok =
    name !== undefined &&
    (limit === undefined || isInt64(limit)) &&
    (timeoutSeconds === undefined || isInt64(timeoutSeconds)) &&
    (labelSelector === undefined || isLabelSelector(labelSelector));
  // Any watch value but "0" or "false" means true, even "" or "no". After a decoding error Go resets the options
  // and re-reads watch with ToLower, which (unlike the EqualFold used otherwise) does not match "falſe".
  const off =
    watch === undefined || watch === '0' || (ok ? foldsToFalse(watch) : watch.toLowerCase() === 'false');
  info.verb = off ? 'list' : 'watch';
  if (ok && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%')) info.name = name;
}

function foldsToFalse(s: string): boolean {
  return s.length === 5 && s.toLowerCase().replace('ſ', 's') === 'false';
}

/** strconv.ParseInt(s, 10, 64) succeeds. */
function isInt64(s: string): boolean {
  const m = INT64.exec(s);
  return (
    m !== null && (m[1].length < 19 || m[1] <= (s[0] === '-' ? '9223372036854775808' : '9223372036854775807'))
  );
}

/**
 * fields.ParseSelector(s).RequiresExactMatch("metadata.name"): undefined if s does not parse, else the value
 * of the first (in Go's byte order of the raw terms) `metadata.name=` or `==` term, or ''.
 */
function fieldSelectorName(s: string): string | undefined {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  let best: string | undefined;
  let name = '';
  for (const term of terms) {
    if (term === '') continue;
    let op = 0;
    while (op < term.length && term[op] !== '=' && !(term[op] === '!' && term[op + 1] === '=')) op++;
    if (op === term.length) return undefined;
    const negated = term[op] === '!';
    const value = unescapeFieldValue(term.slice(op + (negated || term[op + 1] === '=' ? 2 : 1)));
    if (value === undefined) return undefined;
    if (
      !negated &&
      op === 13 &&
      term.startsWith('metadata.name') &&
      (best === undefined || utf8Less(term, best))
    ) {
      best = term;
      name = value;
    }
  }
  return name;
}

function unescapeFieldValue(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    let c = s[i];
    if (c === ',' || c === '=') return undefined;
    if (c === '\\') {
      c = s[++i];
      if (c !== '\\' && c !== ',' && c !== '=') return undefined;
    }
    out += c;
  }
  return out;
}

/** UTF-16 order differs from UTF-8 byte order only between surrogates and U+E000..U+FFFF. */
function utf8Less(a: string, b: string): boolean {
  for (let i = 0; i < a.length && i < b.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x += x < 0xe000 ? 0x2000 : -0x800;
      y += y < 0xe000 ? 0x2000 : -0x800;
    }
    return x < y;
  }
  return a.length < b.length;
}

/** labels.Parse(s) succeeds: its lexer (which stops at a NUL), parser and validation. */
function isLabelSelector(s: string): boolean {
  const [kinds, lits] = lexLabels(s);
  let p = 0;
  // Except in operator position, Go reads the keywords in/notin as identifiers.
  const look = (): string => (kinds[p] === 'in' || kinds[p] === 'notin' ? 'id' : kinds[p]);
  while (look() !== 'end') {
    const absent = kinds[p] === '!';
    if (absent) p++;
    if (look() !== 'id' || !isLabelKey(lits[p++])) return false;
    const op = absent || look() === 'end' || look() === ',' ? '' : kinds[p++];
    if (op === 'in' || op === 'notin') {
      if (kinds[p++] !== '(') return false;
      while (look() !== ')') {
        const k = look();
        p++;
        if (k === 'id' ? !isLabelValue(lits[p - 1]) : k !== ',') return false;
        if (k === 'id' && look() !== ',' && look() !== ')') return false;
      }
      p++;
    } else if (op !== '') {
      const v = look() === 'end' || look() === ',' ? '' : look() === 'id' ? lits[p++] : undefined;
      if (!EXACT_OPS.has(op) || v === undefined || !isLabelValue(v)) return false;
      if ((op === '<' || op === '>') && !isInt64(v)) return false;
    }
    if (look() === 'end') return true;
    if (kinds[p++] !== ',' || (look() !== 'id' && look() !== '!')) return false;
  }
  return true;
}

function lexLabels(s: string): [kinds: string[], lits: string[]] {
  const kinds: string[] = [];
  const lits: string[] = [];
  let pos = 0;
  const read = (): string => (pos < s.length ? s[pos++] : '\0');
  for (let c = read(); ; c = read()) {
    while (c === ' ' || c === '\t' || c === '\r' || c === '\n') c = read();
    if (c === '\0') break;
    let lit = c;
    const op = '=!(),<>'.includes(c);
    if (op && (c === '=' || c === '!') && s[pos] === '=') lit += read();
    // Go's lexer reads one character past a token and puts it back, unless it is (a) NUL.
    for (let d = read(); ; d = read()) {
      if (d === '\0') break;
      if (op || '=!(),<> \t\r\n'.includes(d)) {
        pos--;
        break;
      }
      lit += d;
    }
    kinds.push(op || lit === 'in' || lit === 'notin' ? lit : 'id');
    lits.push(lit);
  }
  kinds.push('end');
  lits.push('');
  return [kinds, lits];
}
function isLabelKey(k: string): boolean {
  const slash = k.indexOf('/');
  const name = k.slice(slash + 1);
  if (slash >= 0) {
    const prefix = k.slice(0, slash);
    if (name.includes('/') || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return false;
  }
  return name.length <= 63 && LABEL_NAME.test(name);
}

function isLabelValue(v: string): boolean {
  return v === '' || (v.length <= 63 && LABEL_NAME.test(v));
}
