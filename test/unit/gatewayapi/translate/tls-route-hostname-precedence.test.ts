import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { loadInput } from './golden-cases.ts';

/** `SNI hostname → route` of the TLS listener of Gateway `infra/<gateway>`. */
function winners(input: TranslateInput, gateway: string): Record<string, string> {
  const port = translate(input).ir.streams?.find((p) => p.gateway === `infra/${gateway}`);
  assert.ok(port, `no stream port for ${gateway}`);
  return Object.fromEntries(port.listeners[0].hosts.map((h) => [h.hostname, h.route]));
}

/** A copy of TLSRoute `infra/<name>` renamed `<as>`, created at `created`. */
function withRoute(input: TranslateInput, name: string, as: string, created: string): TranslateInput {
  const routes = input.tlsRoutes ?? [];
  const route = routes.find((r) => (r as { metadata: { name: string } }).metadata.name === name);
  const copy = structuredClone(route) as { metadata: Record<string, unknown> };
  copy.metadata = { ...copy.metadata, name: as, creationTimestamp: created };
  return { ...input, tlsRoutes: [...routes, copy] };
}

test('an exact TLSRoute hostname wins over an older wildcard one meeting the same listener hostname', () => {
  assert.deepEqual(winners(loadInput('route-hostname-precedence'), 'exact'), {
    'abc.example.com': 'infra/exact-newer',
  });
});

test('a more specific wildcard TLSRoute hostname wins over an older less specific one', () => {
  assert.deepEqual(winners(loadInput('route-hostname-precedence'), 'wildcard'), {
    '*.example.com': 'infra/more-specific-wc-newer',
  });
});

test('among TLSRoutes with equally specific hostnames the oldest still wins', () => {
  const input = withRoute(
    loadInput('route-hostname-precedence'),
    'exact-newer',
    'exact-oldest',
    '2024-01-01T00:00:00Z',
  );
  assert.deepEqual(winners(input, 'exact'), { 'abc.example.com': 'infra/exact-oldest' });
  const later = withRoute(
    loadInput('route-hostname-precedence'),
    'exact-newer',
    'exact-newest',
    '2026-01-01T00:00:00Z',
  );
  assert.deepEqual(winners(later, 'exact'), { 'abc.example.com': 'infra/exact-newer' });
});
