import { Buffer } from 'node:buffer';
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { SPDY_DICTIONARY } from './dictionary.ts';
import { SpdyProtocolError } from './errors.ts';

// SPDY/3 header blocks share ONE zlib stream per direction for the whole connection: every block
// is the continuation of the previous one, ended with a sync flush so it decodes on its own.
// Node's zlib streams are asynchronous, so callers must not overlap calls (the session serializes
// its input and its output).

class ZlibContext {
  readonly #z: Deflate | Inflate;
  #chunks: Buffer[] = [];
  #failed: Error | null = null;

  constructor(z: Deflate | Inflate) {
    this.#z = z;
    z.on('data', (c: Buffer) => this.#chunks.push(c));
    z.on('error', (err) => (this.#failed = err));
  }

  run(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.#failed) return reject(new SpdyProtocolError(`header block zlib: ${this.#failed.message}`));
      this.#z.write(input);
      this.#z.flush(constants.Z_SYNC_FLUSH, () => {
        if (this.#failed) return reject(new SpdyProtocolError(`header block zlib: ${this.#failed.message}`));
        const out = Buffer.concat(this.#chunks);
        this.#chunks = [];
        resolve(out);
      });
    });
  }

  close(): void {
    this.#z.destroy();
  }
}

export class HeaderCompressor {
  readonly #ctx = new ZlibContext(createDeflate({ dictionary: SPDY_DICTIONARY, level: 6 }));
  compress(block: Buffer): Promise<Buffer> {
    return this.#ctx.run(block);
  }
  close(): void {
    this.#ctx.close();
  }
}

export class HeaderDecompressor {
  readonly #ctx = new ZlibContext(createInflate({ dictionary: SPDY_DICTIONARY }));
  decompress(compressed: Buffer): Promise<Buffer> {
    return this.#ctx.run(compressed);
  }
  close(): void {
    this.#ctx.close();
  }
}
