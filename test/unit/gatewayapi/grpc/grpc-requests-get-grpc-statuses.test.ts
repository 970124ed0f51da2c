import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grpcStatusOf, isGrpcRequest } from '../../../../src/gatewayapi/dataplane/grpc-status.ts';

test('a request is gRPC by its content type: application/grpc, with or without a +codec or parameters', () => {
  for (const ct of [
    'application/grpc',
    'application/grpc+proto',
    'application/grpc+json',
    'application/grpc;x=1',
  ])
    assert.ok(isGrpcRequest(ct), ct);
  for (const ct of [
    undefined,
    '',
    'application/json',
    'application/grpc-web',
    'application/grpcx',
    'text/plain',
  ])
    assert.ok(!isGrpcRequest(ct), String(ct));
});

test("the gateway's own HTTP answers map to the gRPC statuses clients expect", () => {
  assert.equal(grpcStatusOf(404), 12); // UNIMPLEMENTED: no route
  assert.equal(grpcStatusOf(503), 14); // UNAVAILABLE: no endpoints
  assert.equal(grpcStatusOf(502), 14); // UNAVAILABLE: connect error
  assert.equal(grpcStatusOf(504), 4); // DEADLINE_EXCEEDED
  assert.equal(grpcStatusOf(500), 13); // INTERNAL: invalid backendRef
  assert.equal(grpcStatusOf(429), 8); // RESOURCE_EXHAUSTED
});
