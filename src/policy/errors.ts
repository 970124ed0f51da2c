/** Stable codes of the reasons a request may not wait for a concurrency slot. */
export type QueueErrorCode = 'KG_QUEUE_FULL' | 'KG_QUEUE_TIMEOUT' | 'KG_QUEUE_ABORTED';

/** A request was refused a concurrency slot; the proxy answers these with 429 and `Retry-After`. */
export class QueueError extends Error {
  override name = 'QueueError';
  readonly code: QueueErrorCode;

  constructor(code: QueueErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Every slot is taken and the queue holds as many requests as it may. */
export class QueueFullError extends QueueError {
  override name = 'QueueFullError';

  constructor() {
    super('KG_QUEUE_FULL', 'too many requests in flight and the queue is full');
  }
}

/** The request waited `queueTimeoutMs` in the queue without getting a slot. */
export class QueueTimeoutError extends QueueError {
  override name = 'QueueTimeoutError';
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super('KG_QUEUE_TIMEOUT', `no slot became free within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's signal aborted (the client went away) before a slot was free; named like DOM's AbortError. */
export class QueueAbortedError extends QueueError {
  override name = 'AbortError';

  constructor(reason: unknown) {
    super('KG_QUEUE_ABORTED', 'the request was aborted while waiting for a slot', { cause: reason });
  }
}
