// One unary gRPC call from the lab's underlay namespace (where Gateway addresses are reachable):
// `node grpc-lab-call.ts <url> <path> <authority> [<metadata JSON>]` prints the answer as JSON.
// The e2e test runs it with `ip netns exec`; the client is the unit tests' own (grpc-call.ts).

import { grpcCall } from '../../unit/gatewayapi/grpc/grpc-call.ts';

const [url, path, authority, metadata] = process.argv.slice(2);
const a = await grpcCall(url, path, {
  authority,
  metadata: metadata === undefined ? {} : (JSON.parse(metadata) as Record<string, string>),
  timeoutMs: 5_000,
});
process.stdout.write(
  JSON.stringify({
    code: a.code,
    message: a.message,
    httpStatus: a.httpStatus,
    messages: a.messages.map((m) => m.toString('base64')),
  }),
);
