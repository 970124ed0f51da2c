export { SpdyProtocolError, SpdySessionClosedError, SpdyStreamResetError } from './errors.ts';
export type { SpdyHeaders } from './header-block.ts';
export { SpdySession, type SpdySessionOptions } from './session.ts';
export { SpdyStream } from './stream.ts';
