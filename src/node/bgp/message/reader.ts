import { BgpMessageError } from './errors.ts';
import { checkHeader } from './header.ts';
import { HEADER_LENGTH } from './types.ts';

/** Cuts a TCP byte stream into whole BGP messages; a bad header is returned as the error to send. */
export class MessageReader {
  #pending: Buffer = Buffer.alloc(0);

  /** Adds bytes and returns the whole messages they complete, or the header error that stops the stream. */
  push(chunk: Buffer): Buffer[] | BgpMessageError {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: Buffer[] = [];
    while (this.#pending.length >= HEADER_LENGTH) {
      const header = checkHeader(this.#pending);
      if (header instanceof BgpMessageError) return header;
      if (this.#pending.length < header.length) break;
      out.push(this.#pending.subarray(0, header.length));
      this.#pending = this.#pending.subarray(header.length);
    }
    return out;
  }
}
