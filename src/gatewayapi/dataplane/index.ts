export { DataPlane, DuplicateSocketError, type BindFailure, type DataPlaneOptions } from './data-plane.ts';
export { UpstreamError } from './upstream-request.ts';
