/** The peer broke the SPDY framing or protocol rules; the session answers with GOAWAY and closes. */
export class SpdyProtocolError extends Error {
  override name = 'SpdyProtocolError';
}

/** The peer reset a stream (RST_STREAM) or the session ended before the stream did. */
export class SpdyStreamResetError extends Error {
  override name = 'SpdyStreamResetError';
  readonly status: number;
  constructor(status: number, message = `stream reset by peer (status ${status})`) {
    super(message);
    this.status = status;
  }
}

/** The session is closed (GOAWAY sent or received, or the connection ended). */
export class SpdySessionClosedError extends Error {
  override name = 'SpdySessionClosedError';
}
