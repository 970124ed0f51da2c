import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { SpdySessionClosedError, SpdyStreamResetError } from './errors.ts';
import {
  DEFAULT_WINDOW, FLAG_FIN, FLAG_UNIDIRECTIONAL, FrameType, RstStatus,
  SETTINGS_INITIAL_WINDOW_SIZE, dataFrame, goAwayFrame, parseSettings, payloadWords,
  pingFrame, rstStreamFrame, settingsFrame, windowUpdateFrame,
  type ControlFrame, type RawFrame,
} from './frames.ts'; // prettier-ignore
import type { SpdyHeaders } from './header-block.ts';
import { HeaderFrames } from './header-frames.ts';
import { FlowControl } from './flow-control.ts';
import { InputPump } from './input-pump.ts';
import { OutputQueue } from './output-queue.ts';
import { SpdyStream, type StreamOwner } from './stream.ts';

export interface SpdySessionOptions {
  /** The upgraded connection. */
  socket: Duplex;
  /** Which side opened the connection: client streams have odd ids, server streams even. */
  side: 'client' | 'server';
  /** Bytes that arrived after the HTTP upgrade response/request, to be read first. */
  head?: Buffer;
  /**
   * A stream the peer opened. Return false to reject it (answered with SYN_REPLY+FIN, as the
   * Kubernetes SPDY server does); otherwise it is accepted with an empty SYN_REPLY.
   */
  onStream?: (stream: SpdyStream) => boolean | void;
  /** false: keep no flow-control windows and announce none, as moby/spdystream (for tests). */
  flowControl?: boolean;
}

const MAX_DATA_FRAME = 32 * 1024;

/**
 * A SPDY/3.1 session over an upgraded connection, either side: streams the peer opens arrive
 * through `onStream`, `openStream` opens ours. Frames go out strictly in order (OutputQueue) and
 * are handled strictly in order (InputPump); flow control is in FlowControl. Events: 'close',
 * 'goaway', 'protocolError' (we answered with GOAWAY and dropped the connection), 'socketError'.
 */
export class SpdySession extends EventEmitter implements StreamOwner {
  readonly #socket: Duplex;
  readonly #side: 'client' | 'server';
  readonly #onStream: (stream: SpdyStream) => boolean | void;
  readonly #out: OutputQueue;
  readonly #input: InputPump;
  readonly #headerFrames = new HeaderFrames();
  readonly #streams = new Map<number, SpdyStream>();
  readonly #pendingOpens = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  readonly #pings = new Map<number, () => void>();
  #nextStreamId: number;
  #nextPingId: number;
  #lastPeerStreamId = 0;
  readonly #flow: FlowControl;
  #goneAway = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  constructor(opts: SpdySessionOptions) {
    super();
    this.#socket = opts.socket;
    this.#side = opts.side;
    this.#onStream = opts.onStream ?? (() => undefined);
    this.#nextStreamId = opts.side === 'client' ? 1 : 2;
    this.#nextPingId = opts.side === 'client' ? 1 : 2;
    this.#out = new OutputQueue(this.#socket);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#flow = new FlowControl(opts.flowControl !== false);
    if (opts.flowControl !== false)
      this.#send(settingsFrame([[SETTINGS_INITIAL_WINDOW_SIZE, DEFAULT_WINDOW]]));
    this.#input = new InputPump(
      this.#socket,
      (f) => this.#handle(f),
      (err) => this.#protocolError(err),
    );
    this.#socket.on('data', (chunk: Buffer) => this.#input.push(chunk));
    this.#socket.on('close', () => this.#teardown());
    this.#socket.on('error', (err) => this.emit('socketError', err));
    if (opts.head && opts.head.length > 0) this.#input.push(opts.head);
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  /** Opens a stream and resolves once the peer's SYN_REPLY arrives. */
  openStream(headers: SpdyHeaders, opts: { fin?: boolean } = {}): Promise<SpdyStream> {
    if (this.#goneAway || this.#closed) return Promise.reject(new SpdySessionClosedError('session closed'));
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    const stream = new SpdyStream(this, id, headers, this.#flow.peerInitialWindow, Promise.resolve());
    this.#streams.set(id, stream);
    const flags = opts.fin ? FLAG_FIN : 0;
    if (opts.fin) stream.localFinished = true;
    const replied = new Promise<void>((resolve, reject) => this.#pendingOpens.set(id, { resolve, reject }));
    this.#send(() => this.#headerFrames.synStream(id, flags, headers));
    return replied.then(() => stream);
  }

  /** Sends a PING and resolves with the round trip in milliseconds. */
  ping(): Promise<number> {
    const id = this.#nextPingId;
    this.#nextPingId += 2;
    const start = performance.now();
    return new Promise((resolve) => {
      this.#pings.set(id, () => resolve(performance.now() - start));
      this.#send(pingFrame(id));
    });
  }

  /**
   * Ends the session as the Kubernetes SPDY connection does: resets streams still open on our
   * side, sends GOAWAY, then closes the connection once the frames are out.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    for (const s of [...this.#streams.values()]) if (!s.localFinished) s.reset(RstStatus.Cancel);
    if (!this.#goneAway) {
      this.#goneAway = true;
      this.#send(goAwayFrame(this.#lastPeerStreamId, 0));
    }
    await this.#out.flushed();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 5000).unref();
    await this.closed;
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.#socket.destroy();
  }

  // StreamOwner

  async sendData(stream: SpdyStream, data: Buffer): Promise<void> {
    await stream.ready;
    let at = 0;
    while (at < data.length) {
      const n = await this.#flow.reserve(
        stream,
        Math.min(data.length - at, MAX_DATA_FRAME),
        () => this.#closed,
      );
      await this.#out.push(dataFrame(stream.id, 0, data.subarray(at, at + n)));
      at += n;
    }
  }

  async sendFin(stream: SpdyStream): Promise<void> {
    await stream.ready;
    await this.#out.push(dataFrame(stream.id, FLAG_FIN, Buffer.alloc(0)));
  }

  sendReset(stream: SpdyStream, status: number): void {
    if (!this.#closed) this.#send(rstStreamFrame(stream.id, status));
  }

  consumed(stream: SpdyStream): void {
    const credit = this.#closed ? 0 : this.#flow.consumed(stream);
    if (credit > 0) this.#send(windowUpdateFrame(stream.id, credit));
  }

  forget(stream: SpdyStream): void {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    this.#pendingOpens.get(stream.id)?.reject(new SpdyStreamResetError(RstStatus.Cancel, 'stream closed'));
    this.#pendingOpens.delete(stream.id);
    if (this.#goneAway && this.#streams.size === 0 && !this.#closed) void this.close();
  }

  // Input

  async #handle(frame: RawFrame): Promise<void> {
    if (!frame.control) {
      const stream = this.#streams.get(frame.streamId);
      if (!stream) return;
      if (frame.data.length > 0) {
        // Session-level credit goes back on receipt; the stream windows bound what is buffered.
        const credit = this.#flow.received(frame.data.length);
        if (credit > 0) this.#send(windowUpdateFrame(0, credit));
        stream.deliver(frame.data);
        // A peer without flow control (spdystream) gets head-of-line blocked instead.
        if (!this.#flow.peerEnabled && stream.readableLength > stream.readableHighWaterMark)
          await stream.whenReadable();
      }
      if (frame.flags & FLAG_FIN) stream.deliverFin();
      return;
    }
    switch (frame.type) {
      case FrameType.SynStream:
        return this.#onSynStream(frame);
      case FrameType.SynReply:
      case FrameType.Headers: {
        const [id] = payloadWords(frame, 1);
        const headers = await this.#headerFrames.read(frame);
        const streamId = id & 0x7fffffff;
        const stream = this.#streams.get(streamId);
        if (frame.type === FrameType.SynReply) {
          this.#pendingOpens.get(streamId)?.resolve();
          this.#pendingOpens.delete(streamId);
        } else stream?.emit('headers', headers);
        if (stream && frame.flags & FLAG_FIN) stream.deliverFin();
        return;
      }
      case FrameType.RstStream: {
        const [id, status] = payloadWords(frame, 2);
        const streamId = id & 0x7fffffff;
        this.#pendingOpens.get(streamId)?.reject(new SpdyStreamResetError(status));
        this.#pendingOpens.delete(streamId);
        this.#streams.get(streamId)?.deliverReset(status);
        return;
      }
      case FrameType.Settings: {
        const window = parseSettings(frame.payload).get(SETTINGS_INITIAL_WINDOW_SIZE);
        if (window !== undefined) this.#flow.onInitialWindow(window, this.#streams.values());
        return;
      }
      case FrameType.Ping: {
        const [id] = payloadWords(frame, 1);
        if ((id & 1) !== (this.#nextPingId & 1)) this.#send(pingFrame(id));
        else this.#pings.get(id)?.();
        this.#pings.delete(id);
        return;
      }
      case FrameType.GoAway:
        this.#goneAway = true;
        this.emit('goaway');
        if (this.#streams.size === 0) void this.close();
        return;
      case FrameType.WindowUpdate: {
        const [id, delta] = payloadWords(frame, 2).map((w) => w & 0x7fffffff);
        this.#flow.onWindowUpdate(delta, id === 0 ? 'session' : (this.#streams.get(id) ?? null));
        return;
      }
      default:
        return; // unknown control frames are ignored (SPDY/3 §2.2.1)
    }
  }

  async #onSynStream(frame: ControlFrame): Promise<void> {
    const [rawId] = payloadWords(frame, 1);
    const id = rawId & 0x7fffffff;
    // The header block must always be inflated: the zlib context spans the whole connection.
    const headers = await this.#headerFrames.read(frame);
    const expectOdd = this.#side === 'server';
    if (id === 0 || (id % 2 === 1) !== expectOdd || id <= this.#lastPeerStreamId) {
      this.#send(rstStreamFrame(id, RstStatus.ProtocolError));
      return;
    }
    this.#lastPeerStreamId = id;
    if (this.#goneAway) {
      this.#send(rstStreamFrame(id, RstStatus.RefusedStream));
      return;
    }
    let markReady!: () => void;
    const stream = new SpdyStream(
      this,
      id,
      headers,
      this.#flow.peerInitialWindow,
      new Promise((r) => (markReady = r)),
    );
    this.#streams.set(id, stream);
    if (frame.flags & FLAG_FIN) stream.deliverFin();
    if (frame.flags & FLAG_UNIDIRECTIONAL) stream.localFinished = true;
    let accepted: boolean;
    try {
      accepted = this.#onStream(stream) !== false;
    } catch (err) {
      accepted = false;
      this.emit('streamHandlerError', err);
    }
    const flags = accepted ? 0 : FLAG_FIN;
    if (!accepted) stream.localFinished = true;
    this.#send(() => this.#headerFrames.synReply(id, flags, {}));
    markReady();
  }

  // Output and teardown

  #send(frame: Buffer | (() => Promise<Buffer>)): void {
    this.#out.push(frame).catch((err: Error) => {
      if (!(err instanceof SpdySessionClosedError)) this.emit('socketError', err);
    });
  }

  #protocolError(err: Error): void {
    this.emit('protocolError', err);
    if (!this.#goneAway) {
      this.#goneAway = true;
      this.#send(goAwayFrame(this.#lastPeerStreamId, 1));
    }
    void this.#out.flushed().then(() => this.#socket.destroy());
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#input.stop();
    this.#out.close();
    for (const s of [...this.#streams.values()]) s.deliverReset(null);
    this.#streams.clear();
    for (const p of this.#pendingOpens.values()) p.reject(new SpdySessionClosedError('session closed'));
    this.#pendingOpens.clear();
    this.#flow.wake();
    this.#headerFrames.close();
    this.#resolveClosed();
    this.emit('close');
  }
}
