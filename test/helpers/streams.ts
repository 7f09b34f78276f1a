/** Large bodies made and checked as streams, so a test never holds a whole body in memory. */
import { createHash, type Hash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';

const CHUNK = 64 * 1024;

/**
 * `size` bytes of a deterministic pattern, produced chunk by chunk on demand. Each chunk carries its
 * index, so a reordered, dropped or repeated chunk changes the digest.
 */
export function patternStream(size: number): Readable {
  let sent = 0;
  let index = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK, size - sent);
      const chunk = Buffer.alloc(n, index & 0xff);
      if (n >= 4) chunk.writeUInt32BE(index, 0);
      index++;
      sent += n;
      this.push(chunk);
    },
  });
}

/** The sha256 of patternStream(size), computed the same way. */
export async function patternDigest(size: number): Promise<string> {
  const sink = new DigestSink();
  await new Promise<void>((resolve, reject) => patternStream(size).pipe(sink).on('finish', resolve).on('error', reject));
  return sink.digest;
}

/** Counts and hashes what is written to it. */
export class DigestSink extends Writable {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private result = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.result = this.hash.digest('hex');
    cb();
  }
  get digest(): string {
    return this.result;
  }
}
