import { Buffer } from 'node:buffer';
import { SpdyProtocolError } from './errors.ts';
import { FrameType, controlFrame, streamIdPrefix, synStreamPrefix, type ControlFrame } from './frames.ts';
import { decodeHeaderBlock, encodeHeaderBlock, type SpdyHeaders } from './header-block.ts';
import { HeaderCompressor, HeaderDecompressor } from './header-compression.ts';

/**
 * Builds and reads the frames that carry header blocks (SYN_STREAM, SYN_REPLY, HEADERS) with the
 * connection's two zlib contexts. Calls must not overlap in either direction.
 */
export class HeaderFrames {
  readonly #compressor = new HeaderCompressor();
  readonly #decompressor = new HeaderDecompressor();

  async synStream(id: number, flags: number, headers: SpdyHeaders): Promise<Buffer> {
    const block = await this.#compressor.compress(encodeHeaderBlock(headers));
    return controlFrame(FrameType.SynStream, flags, Buffer.concat([synStreamPrefix(id, 0, 0), block]));
  }

  async synReply(id: number, flags: number, headers: SpdyHeaders): Promise<Buffer> {
    const block = await this.#compressor.compress(encodeHeaderBlock(headers));
    return controlFrame(FrameType.SynReply, flags, Buffer.concat([streamIdPrefix(id), block]));
  }

  /** The header block of a received frame (SYN_STREAM: after 10 bytes; SYN_REPLY, HEADERS: 4). */
  async read(frame: ControlFrame): Promise<SpdyHeaders> {
    const offset = frame.type === FrameType.SynStream ? 10 : 4;
    if (frame.payload.length < offset) throw new SpdyProtocolError(`short control frame type ${frame.type}`);
    return decodeHeaderBlock(await this.#decompressor.decompress(frame.payload.subarray(offset)));
  }

  close(): void {
    this.#compressor.close();
    this.#decompressor.close();
  }
}
