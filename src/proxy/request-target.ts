import { GatewayError } from '../errors.ts';

// RFC 9112 §3.2.2: a server must accept the absolute-form (`GET https://host/path HTTP/1.1`), as
// Go's net/http (and so kube-apiserver) does, reading only its path and query. Upstream the
// request is an HTTP/2 stream whose `:path` must be that origin-form; sending the absolute-form
// made the apiserver reset the stream, which a client could repeat to eject endpoints and open
// the breaker. The client's host part is dropped: the upstream authority is the gateway's choice.
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/** The origin-form (`/path?query`) of an HTTP/1.1 request target; other forms are returned as they came. */
export function originForm(target: string): string {
  if (target.charCodeAt(0) === 47 /* '/' */) return target;
  const m = ABSOLUTE_FORM.exec(target);
  if (m === null) return target;
  const rest = target.slice(m[0].length);
  return rest === '' || rest.charCodeAt(0) !== 47 ? `/${rest}` : rest;
}

/** Throws 400 BadRequest unless `target` is an origin-form path (asterisk and authority forms are not proxied). */
export function assertOriginForm(target: string): void {
  if (target.charCodeAt(0) !== 47)
    throw new GatewayError('KG_BAD_REQUEST', 'BadRequest', 'the request target must be an absolute path');
}
